/**
 * The change feed's cost (`--feed`): W2 and W5 with evsrc's feed off, then on, each side
 * on its own fresh store of the same backend, in the same run. With the feed on, each save
 * first appends a log entry to its aggregate's partition's log (create-if-absent at that
 * log's next position; the saves of one partition queued in the process meanwhile share one
 * entry: group commit), then creates its batch file. After
 * W2 with the feed on, its part of the feed (every batch after the warm-up) is read back
 * once, by a new repository.
 *
 * @module
 */
import { type Checkpoint, FEED_START, type FileSystem, type Repository } from '@evsrc/core';
import { type FeedLayout, parseVector, readLayout } from '@evsrc/core/internals';
import type { BackendName } from '../backends/types.js';
import { Ledger } from '../domain.js';
import { type Latencies, type Measurement, measureWrites } from '../measure.js';
import type { ParserName, Sizes } from '../options.js';
import { type RunContext, repository, saveRange } from './context.js';
import { w2Saves, w2Size, w5Saves, w5Size } from './writes.js';

/** W2's batches read back with `repository.feed.read()`. */
export interface FeedReadBack {
  readonly batches: number;
  readonly events: number;
  readonly ms: number;
  readonly batchesPerSecond: number;
}

/** One workload with the feed off and on. */
export interface FeedCostRow {
  readonly backend: BackendName;
  readonly parser: ParserName;
  readonly workload: 'W2' | 'W5';
  readonly size?: string;
  readonly off?: Measurement;
  readonly on?: Measurement;
  /** Time with the feed on / time off (1.00: free; 2.00: twice as long). */
  readonly ratio?: number;
  /** Log entries written by the measured saves, and per save (below 1: group commit). */
  readonly entries?: number;
  readonly entriesPerSave?: number;
  /** W2 only: its batches read back from the feed after the writes. */
  readonly readBack?: FeedReadBack;
  readonly error?: string;
}

type Workload = 'W2' | 'W5';

interface Spec {
  saves(repo: Repository, sizes: Sizes, latencies: Latencies): Promise<void>;
  size(sizes: Sizes): string;
  events(sizes: Sizes): number;
}

const WORKLOADS: Record<Workload, Spec> = {
  W2: { saves: w2Saves, size: w2Size, events: (s) => s.w2Aggregates * s.w2Events },
  W5: { saves: w5Saves, size: w5Size, events: (s) => s.w5Writers * s.w5Saves * s.w5Events },
};

let warmUps = 0;

/** Runs one workload on `fileSystem` with the feed `on` or off: 20 unmeasured saves first, on the same repository. */
async function run(
  ctx: RunContext,
  fileSystem: FileSystem,
  workload: Workload,
  on: boolean,
): Promise<{ measurement: Measurement; from: Checkpoint; entries: number }> {
  const { saves, events } = WORKLOADS[workload];
  const repo = repository(fileSystem, ctx.parser, { feed: on });
  await saveRange(repo, new Ledger(`feed-warm-up-${++warmUps}`), 0, 200, 10);
  const from = on ? await repo.feed.head() : FEED_START;
  const measurement = await measureWrites(events(ctx.sizes), (l) => saves(repo, ctx.sizes, l));
  const entries = on ? await entriesSince(fileSystem, from, await repo.feed.head()) : 0;
  return { measurement, from, entries };
}

/** Log entries written between two heads of the feed: the sum over its partitions' logs (positions have no gap in each). */
async function entriesSince(fileSystem: FileSystem, from: Checkpoint, head: Checkpoint): Promise<number> {
  const layout = (await readLayout(fileSystem)) as FeedLayout; // the feed is on: its marker exists
  const before = parseVector(from, layout);
  return parseVector(head, layout).reduce((n, at, p) => n + at.position - (before[p]?.position ?? 0), 0);
}

/** Reads the feed of `fileSystem` after `from` with a new repository; checks it holds `expected` batches. */
async function readBack(
  ctx: RunContext,
  fileSystem: FileSystem,
  from: Checkpoint,
  expected: number,
): Promise<FeedReadBack> {
  const repo = repository(fileSystem, ctx.parser);
  let batches = 0;
  let events = 0;
  const start = performance.now();
  for await (const batch of repo.feed.read({ from })) {
    batches++;
    events += batch.events.length;
  }
  const ms = performance.now() - start;
  if (batches !== expected) throw new Error(`feed read back: ${batches} batches, expected ${expected}`);
  return { batches, events, ms, batchesPerSecond: (batches / ms) * 1000 };
}

/**
 * W2 or W5 with the feed off on `off`, then on on `on` (stores that only ever see one
 * setting: a store whose feed is on refuses writers with the feed off).
 */
export async function feedCost(
  ctx: RunContext,
  stores: { off: FileSystem; on: FileSystem },
  workload: Workload,
): Promise<Omit<FeedCostRow, 'backend' | 'parser' | 'workload'>> {
  const off = await run(ctx, stores.off, workload, false);
  const on = await run(ctx, stores.on, workload, true);
  const saves = on.measurement.operations;
  const back = workload === 'W2' ? await readBack(ctx, stores.on, on.from, saves) : undefined;
  return {
    size: WORKLOADS[workload].size(ctx.sizes),
    off: off.measurement,
    on: on.measurement,
    ratio: on.measurement.ms / off.measurement.ms,
    entries: on.entries,
    entriesPerSave: on.entries / saves,
    ...(back ? { readBack: back } : {}),
  };
}
