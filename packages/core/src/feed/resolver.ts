import { CorruptFileError, ErrorCode, FeedIntegrityError, isEvsrcError } from '../errors.js';
import { batchPath } from '../format/layout.js';
import type { FileSystem } from '../storage/file-system.js';
import type { GuardedFileSystem } from '../storage/guarded.js';
import { completeFromLog } from './commit.js';
import { SegmentIndex } from './compacted.js';
import { type LoggedBatch, readEntry } from './entry.js';
import { entryPath, type FeedLayout, type FeedPosition, logFolder, placeOf } from './layout.js';
import { FeedPoller } from './poller.js';
import type { ResolvedEntry } from './scan.js';
import type { BatchRef } from './segment.js';
import type { FeedBatch, FeedCodec } from './types.js';

/** A committed batch as its partition's log resolves it, before the merge gives it its checkpoint. */
export type Unplaced = Omit<FeedBatch, 'checkpoint'>;

/**
 * Resolves log entries against the batch files: which logged batches are committed (the
 * file holds the logged bytes), lost (another save's bytes), or to complete from the log
 * (missing after the roll-forward delay); and, for a compacted entry, what its segment says.
 */
export class EntryResolver {
  readonly #fs: FileSystem;
  readonly #guarded: GuardedFileSystem;
  readonly #codec: FeedCodec;
  readonly #rollForwardAfterMs: number;
  readonly #segments: SegmentIndex;

  constructor(fs: FileSystem, guarded: GuardedFileSystem, codec: FeedCodec, rollForwardAfterMs: number) {
    this.#fs = fs;
    this.#guarded = guarded;
    this.#codec = codec;
    this.#rollForwardAfterMs = rollForwardAfterMs;
    this.#segments = new SegmentIndex(guarded);
  }

  /** The compacted entry at `position` of the log in `folder` (what its segment says). */
  compacted(folder: string, position: number) {
    return this.#segments.entryAt(folder, position);
  }

  /** Reads the entry at `position` of a partition's log and resolves its batches; `undefined` when it does not exist yet. */
  async entry(
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

const idOf = (entry: { readonly id?: string }) => (entry.id === undefined ? {} : { id: entry.id });

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
