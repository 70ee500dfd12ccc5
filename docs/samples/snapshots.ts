import { aggregateType, everyNEvents, InMemoryFileSystem, Repository } from '@evsrc/core';
import { Cart, CheckedOut, ItemAdded } from './modelling.js';

const fileSystem = new InMemoryFileSystem();
const repository = new Repository({
  fileSystem,
  // A snapshot each time the version crosses a multiple of 100 (same as { every: 100 }).
  aggregates: [aggregateType(Cart, { events: [ItemAdded, CheckedOut], snapshots: everyNEvents(100) })],
  onError: (error, context) => console.warn(context.operation, error), // a failed snapshot never fails a save
});

const cart = new Cart('big');
for (let i = 0; i < 250; i++) {
  cart.add(`sku-${i % 7}`, 1);
  if (i % 10 === 9) await repository.save(cart);
}
for await (const name of fileSystem.list('cart/big/snapshots/')) console.log(name);
// cart/big/snapshots/000000000100.snap, …/000000000200.snap: a load reads the newest one and the batches after it.
const loaded = await repository.get(Cart, 'big');
console.log(loaded.version); // 250
