// The projection the feed's consumer tests run with SharedProjection (children/feed-consumer.mjs)
// and recount from scratch: per aggregate, how many events it has seen and the last version,
// plus any batch that did not follow its aggregate's last one. Types: feed-projection.d.mts.

/** The projection's name in the store. */
export const PROJECTION = 'event-counts';

/** The state before any batch. */
export const initialCounts = () => ({ aggregates: {}, batches: 0, outOfOrder: [] });

/**
 * Applies one batch: counts its events under its aggregate, and notes it as out of order
 * unless it starts right after the aggregate's last version seen (versions 1..n, each once).
 */
export function countBatch(state, batch) {
  const key = `${batch.aggregateType}/${batch.aggregateId}`;
  const seen = state.aggregates[key] ?? { events: 0, last: 0 };
  if (batch.firstVersion !== seen.last + 1) {
    state.outOfOrder.push(`${key} v${batch.firstVersion}..${batch.lastVersion} after v${seen.last}`);
  }
  state.aggregates[key] = { events: seen.events + batch.events.length, last: batch.lastVersion };
  state.batches++;
  return state;
}

/** The state a recount of `batches` from scratch gives. */
export const recount = (batches) => batches.reduce(countBatch, initialCounts());

/** The options of the projection (without `partition` or `leaseMs`) on `repository`'s feed. */
export const countsOptions = (repository, fileSystem) => ({
  feed: repository.feed,
  fileSystem,
  name: PROJECTION,
  initialState: initialCounts,
  handle: countBatch,
  saveEvery: 5,
});
