import { CorruptFileError, ErrorCode, FeedIntegrityError, isEvsrcError } from '../errors.js';
import type { EventRecord } from '../model/event-record.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import { completeFromLog, type LoggedBatchHeader } from './commit.js';
import { type LoggedBatch, readEntry } from './entry.js';
import { type Checkpoint, entryPath, type FeedPosition, formatCheckpoint, parseCheckpoint } from './layout.js';
import { FeedPoller } from './poller.js';
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

interface Resolved {
  readonly position: number;
  /** The entry's id and its predecessor's, when the entry is chained. */
  readonly id?: string;
  readonly prev?: string;
  /** Committed batches of the entry (type-filtered), in order, as their checkpoints and batches. */
  readonly batches: readonly FeedBatch[];
}

/**
 * The change feed of a store: every committed batch of every aggregate, in the order of
 * the log, resumable from a checkpoint. Get it from `repository.feed`.
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

  constructor(fs: FileSystem, codec: FeedCodec, options: FeedOptions = {}) {
    this.#fs = fs;
    this.#guarded = GuardedFileSystem.of(fs);
    this.#codec = codec;
    this.#readAhead = Math.max(1, options.readAhead ?? fs.readConcurrency ?? 4);
    this.#rollForwardAfterMs = options.rollForwardAfterMs ?? 500;
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

  /** The checkpoint of the last entry of the log (its last batch may or may not be committed). */
  async head(): Promise<Checkpoint> {
    const position = await findHead(this.#fs);
    if (position === 0) return formatCheckpoint({ position: 0, index: 0 });
    const path = entryPath(position);
    const bytes = await this.#guarded.read(path);
    if (bytes === undefined) return formatCheckpoint({ position, index: 0 });
    const entry = readEntry(path, bytes, position);
    return formatCheckpoint({ position, index: entry.batches.length - 1, ...(entry.id ? { id: entry.id } : {}) });
  }

  async *#scan(
    options: FeedReadOptions,
    watching: { intervalMs: number; idle: (() => void | Promise<void>) | undefined } | undefined,
  ): AsyncGenerator<FeedBatch> {
    const from: FeedPosition = parseCheckpoint(options.from);
    const types = options.types ? new Set(options.types.map((t) => (typeof t === 'string' ? t : t.type))) : undefined;
    const { signal } = options;
    const ahead = new Map<number, Promise<Resolved | undefined>>();
    let position = Math.max(1, from.position);
    // Right after a wait, new entries come one at a time: read ahead again once one is found.
    let width = this.#readAhead;
    // The id of the entry before `position` as this reader saw it: the next entry must name it.
    let seen: string | undefined;
    try {
      for (;;) {
        signal?.throwIfAborted();
        for (let p = position; p < position + width; p++) {
          if (!ahead.has(p)) {
            const pending = this.#resolveEntry(p, types, from);
            pending.catch(() => undefined); // handled when reached; ignored if abandoned
            ahead.set(p, pending);
          }
        }
        const resolved = await (ahead.get(position) as Promise<Resolved | undefined>);
        ahead.delete(position);
        if (resolved === undefined) {
          const appeared = await this.#checkMissing(position, from, ahead);
          ahead.clear(); // entries past a missing one were read too early
          if (appeared) continue;
          if (watching === undefined) return;
          await watching.idle?.();
          await FeedPoller.of(this.#fs).wait(position, watching.intervalMs, signal);
          width = 1;
          continue;
        }
        width = this.#readAhead;
        checkLink(resolved, from, seen);
        seen = resolved.id;
        for (const batch of resolved.batches) {
          signal?.throwIfAborted();
          yield batch;
        }
        position++;
      }
    } finally {
      ahead.clear();
    }
  }

  /** Reads the entry at `position` and resolves its batches; `undefined` when it does not exist yet. */
  async #resolveEntry(
    position: number,
    types: ReadonlySet<string> | undefined,
    from: FeedPosition,
  ): Promise<Resolved | undefined> {
    const path = entryPath(position);
    // The poller of watchers has just read a new entry: take it from there rather than read it again.
    const bytes = FeedPoller.of(this.#fs).found(position) ?? (await this.#guarded.read(path));
    if (bytes === undefined) return undefined;
    const entry = readEntry(path, bytes, position);
    const wanted = entry.batches
      .map((batch, index) => ({ batch, index }))
      .filter(
        ({ batch, index }) => (position !== from.position || index > from.index) && (!types || types.has(batch.type)),
      );
    const batches = await Promise.all(
      wanted.map(({ batch, index }) => this.#resolveBatch(batch, { position, index, ...idOf(entry) })),
    );
    return {
      position,
      ...idOf(entry),
      ...(entry.prev ? { prev: entry.prev } : {}),
      batches: batches.filter((b): b is FeedBatch => b !== undefined),
    };
  }

  /**
   * At a missing entry: fails if the reader's checkpoint names it (it was seen, now it is
   * gone) or if the entry after it exists and it is still missing when read again (an
   * entry is only written after the one before it exists: this one was lost).
   * @returns true when the entry has appeared meanwhile (read it again).
   */
  async #checkMissing(
    position: number,
    from: FeedPosition,
    ahead: ReadonlyMap<number, Promise<Resolved | undefined>>,
  ): Promise<boolean> {
    const path = entryPath(position);
    if (position === from.position && from.id !== undefined) {
      throw new FeedIntegrityError(path, position, `the checkpoint ${formatCheckpoint(from)} names it, but it is gone`);
    }
    const next = ahead.get(position + 1);
    if (next === undefined || (await next.catch(() => undefined)) === undefined) return false;
    // The reads were in flight together: the entry may have been written between them.
    if ((await this.#guarded.read(path)) !== undefined) return true;
    throw new FeedIntegrityError(path, position, 'it is missing, while the entry after it exists');
  }

  /** The committed batch, or `undefined` when the logged batch lost its save (or can never be completed). */
  async #resolveBatch(logged: LoggedBatch, at: FeedPosition): Promise<FeedBatch | undefined> {
    // Batch files name their place without the entry id.
    const place = formatCheckpoint({ position: at.position, index: at.index });
    const checkpoint = formatCheckpoint(at);
    const wait = this.#rollForwardAfterMs;
    const stored = await completeFromLog(this.#guarded, this.#codec, logged, at.position, place, wait);
    if (stored === undefined) return undefined;
    if (!sameBytes(stored, logged.bytes)) {
      // Another save won this version: its header names another checkpoint (checked, so
      // that a damaged file is reported rather than taken for a lost race).
      if (this.#codec.checkpointIn(logged, stored) === place) {
        throw new CorruptFileError(logged.path, `differs from the bytes logged for it at feed checkpoint ${place}`);
      }
      return undefined;
    }
    const common = {
      checkpoint,
      aggregateType: logged.type,
      aggregateId: logged.id,
      firstVersion: logged.first,
      lastVersion: logged.last,
      commit: logged.commit,
    };
    try {
      return { ...common, events: await this.#codec.decode(logged, logged.bytes) };
    } catch (error) {
      if (isEvsrcError(error, ErrorCode.Forgotten)) return { ...common, events: [], forgotten: true };
      throw error;
    }
  }
}

const idOf = (entry: { readonly id?: string }) => (entry.id === undefined ? {} : { id: entry.id });

/**
 * Checks that an entry continues what the reader saw: at the checkpoint's own position,
 * the id the checkpoint names; after it, the id of the entry the reader read before.
 * @throws {FeedIntegrityError} when the log lost the position and it was written again.
 */
function checkLink(entry: Resolved, from: FeedPosition, seen: string | undefined): void {
  const path = entryPath(entry.position);
  if (entry.position === from.position && from.id !== undefined && entry.id !== from.id) {
    throw new FeedIntegrityError(
      path,
      entry.position,
      `the checkpoint ${formatCheckpoint(from)} was taken at another entry than the one there now`,
    );
  }
  if (seen !== undefined && entry.prev !== undefined && entry.prev !== seen) {
    throw new FeedIntegrityError(
      entryPath(entry.position - 1),
      entry.position - 1,
      'the entry after it follows another entry than the one this reader saw there',
    );
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
