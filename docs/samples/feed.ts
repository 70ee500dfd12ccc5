import { aggregateType, type FeedBatch, InMemoryFileSystem, Projection, Repository } from '@evsrc/core';
import { Cart, CheckedOut, ItemAdded } from './modelling.js';

const fileSystem = new InMemoryFileSystem(); // or any adapter: the feed works the same on each
const repository = new Repository({
  fileSystem,
  aggregates: [aggregateType(Cart, { events: [ItemAdded, CheckedOut] })],
  feed: true, // log every save in the store's change feed (and mark the store so every writer does)
});

for (const id of ['c-1', 'c-2']) {
  const cart = new Cart(id);
  cart.add('apple', 2);
  await repository.save(cart);
}

// Read: every committed batch of the store, in the log's order, each with its checkpoint.
let checkpoint: string | undefined;
for await (const batch of repository.feed.read()) {
  console.log(`${batch.aggregateId} v${batch.firstVersion}-${batch.lastVersion} at ${batch.checkpoint}`);
  checkpoint = batch.checkpoint; // store it anywhere; read({ from: checkpoint }) resumes after it
}
// c-1 v1-1 at 1|1:0:2059aecbbc7bdb7c   (one partition in memory; the entry ids are random)
// c-2 v1-1 at 1|2:0:8ca35650d6dc91d0

// Watch: the same, then each new batch as it is committed (until the signal aborts).
const stop = new AbortController();
const watching = (async () => {
  try {
    for await (const batch of repository.feed.watch({ from: checkpoint, signal: stop.signal })) {
      console.log(`new: ${batch.aggregateId} ${batch.events.map((e) => e.type).join(', ')}`);
      stop.abort();
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  }
})();
const later = await repository.get(Cart, 'c-1');
later.checkOut();
await repository.save(later);
await watching;
// new: c-1 checked-out

// A projection: state and checkpoint stored together in the store, so each batch counts once.
const itemsPerCart = new Projection<Record<string, number>>({
  feed: repository.feed,
  fileSystem,
  name: 'items-per-cart',
  initialState: () => ({}),
  handle: (state, batch: FeedBatch) => {
    for (const { event } of batch.events) {
      if (event instanceof ItemAdded) state[batch.aggregateId] = (state[batch.aggregateId] ?? 0) + event.quantity;
    }
    return state;
  },
});
console.log(await itemsPerCart.catchUp()); // 3
console.log(JSON.stringify(itemsPerCart.state)); // {"c-1":2,"c-2":2}
