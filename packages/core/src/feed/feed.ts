import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError, CorruptFileError, ErrorCode, FeedIntegrityError, isEvsrcError } from '../errors.js';
import { batchPath } from '../format/layout.js';
import type { EventRecord } from '../model/event-record.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import { completeFromLog, type LoggedBatchHeader } from './commit.js';
import { SegmentIndex } from './compacted.js';
import { type CompactionResult, type CompactOptions, compactFeed } from './compaction.js';
import { type LoggedBatch, readEntry } from './entry.js';
import {
  type Checkpoint,
  entryPath,
  type FeedLayout,
  type FeedPosition,
  formatVector,
  logFolder,
  parseVector,
  placeOf,
} from './layout.js';
import { readLayout } from './marker.js';
import { FeedPoller } from './poller.js';
import { PartitionScan, type ResolvedEntry } from './scan.js';
import type { BatchRef } from './segment.js';
import { findHead } from './writer.js';

/** One committed batch of the feed. */
export interface FeedBatch {
  /** Where this batch is in the feed: store it, and read on from it to continue after this batch. */
  readonly checkpoint: Checkpoint;
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** Version of the batch's first and last event. */
  readonly firstVersion: number;
  readonly lastVersion: number;
  /** The save's commit id. */
  readonly commit: string;
  /** The partition of the feed whose log holds the batch (that of its aggregate; 0 on a feed of one log). */
  readonly partition: number;
  /** The batch's events, in order (empty when {@link forgotten}). */
  readonly events: readonly EventRecord[];
  /** The aggregate was forgotten (crypto-shredding): its events can never be read again. */
  readonly forgotten?: true;
}

/** Options of {@link Feed.read}. */
export interface FeedReadOptions {
  /** Yield what comes after this checkpoint (default: from the start). */
  readonly from?: Checkpoint;
  /** Only batches of these aggregate types (type names or registered classes; default: all). */
  readonly types?: readonly (string | { readonly type: string })[];
  /**
   * Only these partitions (default: all): K readers can split one feed between them. The
   * checkpoints yielded keep the other partitions' places as `from` gave them.
   */
  readonly partitions?: readonly number[];
  /** Stops the iteration (it throws the signal's reason). */
  readonly signal?: AbortSignal;
}

/** Options of {@link Feed.watch}. */
export interface FeedWatchOptions extends FeedReadOptions {
  /** How often the process's poller looks for new entries when nothing wakes it (default 250 ms). */
  readonly pollIntervalMs?: number;
  /** Called each time the watcher has yielded everything there is and is about to wait. */
  readonly idle?: () => void | Promise<void>;
}

/** How the feed reads batch files (given by the repository, which knows the types and keys). */
export interface FeedCodec {
  /** Decodes a committed batch file into its records. */
  decode(batch: LoggedBatch, bytes: Uint8Array): Promise<EventRecord[]>;
  /**
   * The checkpoint a batch file's header names (`undefined`: written with the feed off).
   * @throws {CorruptFileError} when the file is damaged.
   */
  checkpointIn(batch: LoggedBatch, bytes: Uint8Array): Checkpoint | undefined;
  /**
   * What a batch file's header says about it, checked against the batch's place (its
   * type, id and first version): what a reader checks the logged bytes against before it
   * creates the batch file from the log.
   * @throws {CorruptFileError} when the bytes are damaged, {MisplacedFileError} when they belong elsewhere.
   */
  headerOf(batch: LoggedBatch, bytes: Uint8Array): LoggedBatchHeader;
}

/** What a batch file's header says about it (see {@link FeedCodec.headerOf}); defined with the commit protocol. */
export type { LoggedBatchHeader } from './commit.js';

/** Options of a {@link Feed}. */
export interface FeedOptions {
  /** Log entries (and their batch files) fetched ahead while reading (default: the file system's `readConcurrency`, else 4). */
  readonly readAhead?: number;
  /**
   * How long a reader waits for a logged batch whose file is still missing before it
   * creates the file itself from the log (its writer is slow or gone), in ms (default 500).
   */
  readonly rollForwardAfterMs?: number;
}

/** A committed batch as its partition's log resolves it, before the merge gives it its checkpoint. */
type Unplaced = Omit<FeedBatch, 'checkpoint'>;

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
  readonly #codec: FeedCodec;
  readonly #readAhead: number;
  readonly #rollForwardAfterMs: number;
  /** The store's layout, once its marker was found (it never changes after). */
  #layout: FeedLayout | undefined;
  readonly #segments: SegmentIndex;

  constructor(fs: FileSystem, codec: FeedCodec, options: FeedOptions = {}) {
    this.#fs = fs;
    this.#guarded = GuardedFileSystem.of(fs);
    this.#codec = codec;
    this.#readAhead = Math.max(1, options.readAhead ?? fs.readConcurrency ?? 4);
    this.#rollForwardAfterMs = options.rollForwardAfterMs ?? 500;
    this.#segments = new SegmentIndex(this.#guarded);
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
          bytes.byteLength === 0 ? await this.#segments.entryAt(folder, position) : readEntry(path, bytes, position);
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
        (position) => this.#resolveEntry(layout, partition, position, types, from),
      );
    });
  }

  /** Reads the entry at `position` of a partition's log and resolves its batches; `undefined` when it does not exist yet. */
  async #resolveEntry(
    layout: FeedLayout,
    partition: number,
    position: number,
    types: ReadonlySet<string> | undefined,
    from: FeedPosition,
  ): Promise<ResolvedEntry<Unplaced> | undefined> {
    const path = entryPath(position, logFolder(layout, partition));
    // The poller of watchers has just read a new entry: take it from there rather than read it again.
    const bytes = FeedPoller.of(this.#fs).found(partition, position) ?? (await this.#guarded.read(path));
    if (bytes === undefined) return undefined;
    if (bytes.byteLength === 0) return this.#resolveCompacted(layout, partition, position, types, from);
    const entry = readEntry(path, bytes, position);
    const wanted = entry.batches
      .map((batch, index) => ({ batch, index }))
      .filter(
        ({ batch, index }) => (position !== from.position || index > from.index) && (!types || types.has(batch.type)),
      );
    const resolved = await Promise.all(
      wanted.map(async ({ batch, index }) => ({
        index,
        batch: await this.#resolveBatch(batch, path, placeOf(layout, partition, position, index), partition),
      })),
    );
    return {
      position,
      ...idOf(entry),
      ...(entry.prev ? { prev: entry.prev } : {}),
      batches: resolved.filter((b): b is { index: number; batch: Unplaced } => b.batch !== undefined),
    };
  }

  /** A compacted entry (an empty file): what its segment says, each committed batch read from its file. */
  async #resolveCompacted(
    layout: FeedLayout,
    partition: number,
    position: number,
    types: ReadonlySet<string> | undefined,
    from: FeedPosition,
  ): Promise<ResolvedEntry<Unplaced>> {
    const folder = logFolder(layout, partition);
    const entry = await this.#segments.entryAt(folder, position);
    const resolved: { index: number; batch: Unplaced }[] = [];
    for (const [index, ref] of entry.batches.entries()) {
      if (ref === null || (position === from.position && index <= from.index) || (types && !types.has(ref.type)))
        continue;
      const place = placeOf(layout, partition, position, index);
      resolved.push({
        index,
        batch: await this.#resolveRef(ref, entryPath(position, folder), position, place, partition),
      });
    }
    return {
      position,
      ...idOf(entry),
      ...(entry.prev ? { prev: entry.prev } : {}),
      batches: resolved,
    };
  }

  /**
   * A batch a compacted entry says was committed: its file must be there, naming this place.
   * @throws {FeedIntegrityError} when the file is gone (the store lost it).
   * @throws {CorruptFileError} when the file names another place.
   */
  async #resolveRef(
    ref: BatchRef,
    entry: string,
    position: number,
    place: string,
    partition: number,
  ): Promise<Unplaced> {
    const path = batchPath(ref.type, ref.id, ref.first);
    const bytes = await this.#guarded.read(path);
    if (bytes === undefined) {
      throw new FeedIntegrityError(
        entry,
        position,
        `its compacted entry says ${path} was committed; that file is gone`,
      );
    }
    const probe: LoggedBatch = { path, ...ref, last: ref.first, commit: '', bytes };
    const header = this.#codec.headerOf(probe, bytes);
    if (header.feed !== place) {
      throw new CorruptFileError(
        path,
        `its header names feed place ${String(header.feed)}; the compacted log ${place}`,
      );
    }
    const logged: LoggedBatch = { ...probe, last: header.last, commit: header.commit };
    return this.#batchOf(logged, partition);
  }

  /** The committed batch, or `undefined` when the logged batch lost its save (or can never be completed). */
  async #resolveBatch(
    logged: LoggedBatch,
    entry: string,
    place: string,
    partition: number,
  ): Promise<Unplaced | undefined> {
    const wait = this.#rollForwardAfterMs;
    const stored = await completeFromLog(this.#guarded, this.#codec, logged, entry, place, wait);
    if (stored === undefined) return undefined;
    if (!sameBytes(stored, logged.bytes)) {
      // Another save won this version: its header names another place (checked, so that a
      // damaged file is reported rather than taken for a lost race).
      if (this.#codec.checkpointIn(logged, stored) === place) {
        throw new CorruptFileError(logged.path, `differs from the bytes logged for it at feed checkpoint ${place}`);
      }
      return undefined;
    }
    return this.#batchOf(logged, partition);
  }

  /** A committed batch, decoded (its events, or `forgotten` when its key is gone). */
  async #batchOf(logged: LoggedBatch, partition: number): Promise<Unplaced> {
    const common = {
      aggregateType: logged.type,
      aggregateId: logged.id,
      firstVersion: logged.first,
      lastVersion: logged.last,
      commit: logged.commit,
      partition,
    };
    try {
      return { ...common, events: await this.#codec.decode(logged, logged.bytes) };
    } catch (error) {
      if (isEvsrcError(error, ErrorCode.Forgotten)) return { ...common, events: [], forgotten: true };
      throw error;
    }
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

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
