import { type FeedBatch, type FileSystem, Projection, Repository } from '@evsrc/core';
import { type FeedLayout, type FeedPosition, isAfter, parseVector } from '@evsrc/core/internals';
import { ledgerType } from './domain.mjs';
import { describeBatch, type Opener, readFeed } from './feed-audit.js';
import { type Counts, countsOptions, recount } from './feed-projection.mjs';
import { closeStore } from './stores.mjs';

/**
 * Checks of the projection the consumers share (support/feed-projection.mjs) against the
 * feed. Each returns the problems it found as messages (empty: sound).
 */

const positionIn = (checkpoint: string, layout: FeedLayout, partition: number): FeedPosition =>
  parseVector(checkpoint, layout)[partition] as FeedPosition;

/** One partition's projection on a new repository of `fileSystem`. */
const partitionProjection = (fileSystem: FileSystem, partition: number) =>
  new Projection<Counts>({
    ...countsOptions(new Repository({ fileSystem, aggregates: [ledgerType(7)] }), fileSystem),
    partition,
  });

/**
 * While consumers may still be running, but no writer: each partition's stored state is
 * exactly a recount from scratch of that partition's batches of `feed` (the whole feed, read
 * once the writers stopped) up to the checkpoint stored with it, which is the place of one
 * of them (or the start). Returns the problems and how many batches the stored states cover.
 */
export async function storedStateProblems(
  fileSystem: FileSystem,
  feed: readonly FeedBatch[],
  layout: FeedLayout,
): Promise<{ problems: string[]; covered: number }> {
  const problems: string[] = [];
  let covered = 0;
  for (let p = 0; p < layout.partitions; p++) {
    const projection = partitionProjection(fileSystem, p);
    await projection.load();
    const stored = positionIn(projection.checkpoint, layout, p);
    const mine = feed.filter((b) => b.partition === p);
    const upTo = mine.filter((b) => !isAfter(positionIn(b.checkpoint, layout, p), stored));
    const last = upTo.at(-1);
    const at = last === undefined ? undefined : positionIn(last.checkpoint, layout, p);
    if (stored.position > 0 && (at?.position !== stored.position || at.index !== stored.index)) {
      problems.push(`partition ${p}: the stored checkpoint ${projection.checkpoint} is no batch's place in the feed`);
    }
    const expected = JSON.stringify(recount(upTo));
    const actual = JSON.stringify(projection.state);
    if (actual !== expected) {
      problems.push(`partition ${p}: the stored state ${actual} is not the recount up to its checkpoint ${expected}`);
    }
    covered += upTo.length;
  }
  return { problems, covered };
}

/**
 * Once the consumers have stopped: each partition's projection catches up (from what they
 * stored), and its state then equals a recount from scratch of the partition's batches, as
 * a reader of that partition alone (`partitions: [p]`) reads them; those are exactly the
 * whole feed's batches of the partition, in the same order; the states add up to the feed.
 */
export async function finalStateProblems(
  open: Opener,
  feed: readonly FeedBatch[],
  layout: FeedLayout,
): Promise<{ problems: string[]; caughtUp: number; states: Counts[] }> {
  const problems: string[] = [];
  const states: Counts[] = [];
  let caughtUp = 0;
  const fileSystem = open();
  try {
    for (let p = 0; p < layout.partitions; p++) {
      const projection = partitionProjection(fileSystem, p);
      caughtUp += await projection.catchUp();
      const alone = await readFeed(open, { partitions: [p] });
      const inFeed = feed.filter((b) => b.partition === p);
      const aloneLines = alone.map((b) => `${b.aggregateType}/${b.aggregateId} v${b.firstVersion}..${b.lastVersion}`);
      const feedLines = inFeed.map((b) => `${b.aggregateType}/${b.aggregateId} v${b.firstVersion}..${b.lastVersion}`);
      if (aloneLines.join('\n') !== feedLines.join('\n')) {
        problems.push(
          `partition ${p}: read alone, ${alone.length} batches (first ${alone[0] ? describeBatch(alone[0]) : '-'}), ` +
            `in the whole feed ${inFeed.length}`,
        );
      }
      const expected = JSON.stringify(recount(alone));
      const actual = JSON.stringify(projection.state);
      if (actual !== expected) problems.push(`partition ${p}: the state ${actual} is not the recount ${expected}`);
      if (projection.state.outOfOrder.length > 0) {
        problems.push(
          `partition ${p}: batches out of their aggregate's order: ${projection.state.outOfOrder.join('; ')}`,
        );
      }
      states.push(projection.state);
    }
  } finally {
    await closeStore(fileSystem);
  }
  const batches = states.reduce((n, s) => n + s.batches, 0);
  const events = states.reduce((n, s) => n + Object.values(s.aggregates).reduce((m, a) => m + a.events, 0), 0);
  const feedEvents = feed.reduce((n, b) => n + b.events.length, 0);
  if (batches !== feed.length || events !== feedEvents) {
    problems.push(`the states hold ${batches} batches (${events} events), the feed ${feed.length} (${feedEvents})`);
  }
  return { problems, caughtUp, states };
}
