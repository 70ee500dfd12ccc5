import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError } from '../errors.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import { type CompactionResult, type CompactOptions, compactFeed } from './compaction.js';
import { readEntry } from './entry.js';
import {
  type Checkpoint,
  entryPath,
  type FeedLayout,
  type FeedPosition,
  formatVector,
  logFolder,
  parseVector,
} from './layout.js';
import { readLayout } from './marker.js';
import { FeedPoller } from './poller.js';
import { EntryResolver, type Unplaced } from './resolver.js';
import { PartitionScan, type ResolvedEntry } from './scan.js';
import type { FeedBatch, FeedCodec, FeedOptions, FeedReadOptions, FeedWatchOptions } from './types.js';
import { findHead } from './writer.js';

export type {
  FeedBatch,
  FeedCodec,
  FeedOptions,
  FeedReadOptions,
  FeedWatchOptions,
  LoggedBatchHeader,
} from './types.js';

/**
 * The change feed of a store: every committed batch of every aggregate, resumable from a
 * checkpoint. Get it from `repository.feed`.
 *
 * The feed is K logs (partitions; one for stores whose feed predates partitions), and an
 * aggregate's batches are all in one of them, in version order. A read merges the logs:
 * of the next entries of the partitions read, it takes the one at the lowest position,
 * and among equal positions the lowest partition. Two readers of the same logs therefore
 * see the same sequence; at the tail of a log that is still being written, where a
 * partition's next entry appears only later, the merge takes what exists when it looks.
 * Each batch's checkpoint holds the reader's place in every partition, so resuming from
 * it yields every batch not yet yielded, exactly once.
 *
 * Reading resolves each logged batch against its batch file: a batch is in the feed when
 * its file holds exactly the logged bytes (which name this place in the log). A logged
 * batch whose file holds other bytes lost its save (a conflict) and is skipped; one whose
 * file is still missing after {@link FeedOptions.rollForwardAfterMs} is completed from the
 * log (roll-forward), so a writer that died after logging cannot leave a hole.
 */
export class Feed {
  readonly #fs: FileSystem;
  /** {@link #fs}, its calls guarded (the poller stays keyed by `#fs`, the object the writers know). */
  readonly #guarded: GuardedFileSystem;
  readonly #resolver: EntryResolver;
  readonly #readAhead: number;
  /** The store's layout, once its marker was found (it never changes after). */
  #layout: FeedLayout | undefined;

  constructor(fs: FileSystem, codec: FeedCodec, options: FeedOptions = {}) {
    this.#fs = fs;
    this.#guarded = GuardedFileSystem.of(fs);
    this.#readAhead = Math.max(1, options.readAhead ?? fs.readConcurrency ?? 4);
    this.#resolver = new EntryResolver(fs, this.#guarded, codec, options.rollForwardAfterMs ?? 500);
  }

  /** Yields the committed batches after `from`, up to the end of the log as it is found, then ends. */
  read(options: FeedReadOptions = {}): AsyncGenerator<FeedBatch> {
    return this.#scan(options, undefined);
  }

  /**
   * Like {@link read}, then waits for new batches and yields them as they are committed,
   * until `signal` aborts or the caller stops iterating. All watchers of a file system in
   * one process share one poller.
   */
  watch(options: FeedWatchOptions = {}): AsyncGenerator<FeedBatch> {
    return this.#scan(options, { intervalMs: Math.max(1, options.pollIntervalMs ?? 250), idle: options.idle });
  }

  /**
   * Compacts the log: entries whose batches are all decided keep only where those batches
   * are, in segments, and their copies of the batch bytes go (writers also do this in the
   * background, a chunk of 1,000 positions behind each log's head). Safe alongside
   * writers, readers and other compactions. See `docs/reference/feed.md`, "Compaction".
   */
  compact(options: CompactOptions = {}): Promise<CompactionResult> {
    return compactFeed(this.#fs, options);
  }

  /** The number of partitions of the store's feed (1 when its feed is not on). */
  async partitions(): Promise<number> {
    return (await this.#layoutNow()).partitions;
  }

  /** The checkpoint of the last entry of each log (their last batches may or may not be committed). */
  async head(): Promise<Checkpoint> {
    const layout = await this.#layoutNow();
    const vector = await Promise.all(
      Array.from({ length: layout.partitions }, async (_, partition): Promise<FeedPosition> => {
        const folder = logFolder(layout, partition);
        const position = await findHead(this.#fs, folder);
        if (position === 0) return { position: 0, index: 0 };
        const path = entryPath(position, folder);
        const bytes = await this.#guarded.read(path);
        if (bytes === undefined) return { position, index: 0 };
        const entry =
          bytes.byteLength === 0 ? await this.#resolver.compacted(folder, position) : readEntry(path, bytes, position);
        return { position, index: entry.batches.length - 1, ...(entry.id ? { id: entry.id } : {}) };
      }),
    );
    return formatVector(layout, vector);
  }

  /** The store's layout: from its marker (cached once found); a store without one reads as one log. */
  async #layoutNow(): Promise<FeedLayout> {
    if (this.#layout) return this.#layout;
    const layout = await readLayout(this.#fs);
    if (layout) this.#layout = layout;
    return layout ?? { partitions: 1, legacy: true };
  }

  async *#scan(options: FeedReadOptions, watching: Watching | undefined): AsyncGenerator<FeedBatch> {
    const { signal } = options;
    const layout = watching ? await this.#feedTurnedOn(watching, signal) : await this.#layoutNow();
    const vector = parseVector(options.from, layout);
    const scans = this.#scans(layout, vector, options);
    // Partitions found at their end, and when: a watcher looks at them again after a poll interval.
    const ended = new Map<PartitionScan<Unplaced>, number>();
    try {
      for (;;) {
        signal?.throwIfAborted();
        const next = await nextEntry(scans, ended);
        if (next === undefined) {
          if (watching === undefined) return;
          await watching.idle?.();
          const targets = new Map([...ended.keys()].map((scan) => [scan.partition, scan.position]));
          await FeedPoller.of(this.#fs).wait(layout, targets, watching.intervalMs, signal);
          ended.clear();
          continue;
        }
        const { scan, entry } = next;
        for (const { index, batch } of entry.batches) {
          signal?.throwIfAborted();
          vector[scan.partition] = { position: entry.position, index, ...idOf(entry) };
          yield { checkpoint: formatVector(layout, vector), ...batch };
        }
        scan.advance();
        // A busy partition must not hide the others: a watcher looks again at those ended an interval ago.
        if (watching) for (const [s, at] of ended) if (Date.now() - at >= watching.intervalMs) ended.delete(s);
      }
    } finally {
      for (const scan of scans) scan.close();
    }
  }

  /** The layout, once a writer has turned the store's feed on (a watcher may start before). */
  async #feedTurnedOn(watching: Watching, signal: AbortSignal | undefined): Promise<FeedLayout> {
    let layout = await this.#layoutNow();
    while (!this.#layout) {
      await watching.idle?.();
      await sleep(watching.intervalMs, undefined, signal ? { signal } : {});
      layout = await this.#layoutNow();
    }
    return layout;
  }

  /** A walk along each partition read, from its place in `vector`. */
  #scans(layout: FeedLayout, vector: readonly FeedPosition[], options: FeedReadOptions): PartitionScan<Unplaced>[] {
    const types = options.types ? new Set(options.types.map((t) => (typeof t === 'string' ? t : t.type))) : undefined;
    return selectPartitions(options.partitions, layout).map((partition) => {
      const from = vector[partition] as FeedPosition;
      return new PartitionScan<Unplaced>(
        this.#guarded,
        partition,
        logFolder(layout, partition),
        from,
        this.#readAhead,
        (position) => this.#resolver.entry(layout, partition, position, types, from),
      );
    });
  }
}

/** How a watcher waits. */
interface Watching {
  readonly intervalMs: number;
  readonly idle: (() => void | Promise<void>) | undefined;
}

/**
 * The next entry of the merge: of the partitions not at their end, the one whose next
 * entry has the lowest position (the lowest partition among equals). Partitions found at
 * their end are added to `ended`.
 */
async function nextEntry<B>(
  scans: readonly PartitionScan<B>[],
  ended: Map<PartitionScan<B>, number>,
): Promise<{ scan: PartitionScan<B>; entry: ResolvedEntry<B> } | undefined> {
  const live = scans.filter((scan) => !ended.has(scan));
  const peeked = await Promise.all(live.map(async (scan) => ({ scan, entry: await scan.peek() })));
  let next: { scan: PartitionScan<B>; entry: ResolvedEntry<B> } | undefined;
  for (const { scan, entry } of peeked) {
    if (entry === undefined) ended.set(scan, Date.now());
    else if (!next || entry.position < next.entry.position) next = { scan, entry };
  }
  return next;
}

const idOf = (entry: { readonly id?: string }) => (entry.id === undefined ? {} : { id: entry.id });

/**
 * The partitions a read covers, checked.
 * @throws {ConfigurationError} naming a partition the feed does not have.
 */
function selectPartitions(partitions: readonly number[] | undefined, layout: FeedLayout): number[] {
  if (partitions === undefined) return Array.from({ length: layout.partitions }, (_, p) => p);
  for (const p of partitions) {
    if (!Number.isSafeInteger(p) || p < 0 || p >= layout.partitions) {
      throw new ConfigurationError(
        `No partition ${JSON.stringify(p)} in this feed: its partitions are 0 to ${layout.partitions - 1}`,
      );
    }
  }
  return [...new Set(partitions)].sort((a, b) => a - b);
}
