import { CorruptFileError, MisplacedFileError, StreamIntegrityError } from '../errors.js';
import { batchPath, eventsFolder, versionInName } from '../format/layout.js';
import type { StoredBatch } from '../model/aggregate.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import { mapOrdered } from '../util/ordered.js';
import type { DecodedBatch, FileCodec } from './codec.js';

/** A snapshot the batches must continue: the state after `version`, which ends a stored batch. */
export interface SnapshotAnchor {
  /** The snapshot file (named in errors). */
  readonly path: string;
  readonly version: number;
  /** First version of the batch that ends at `version`, when the snapshot records it. */
  readonly batch?: number;
}

/** Where and how to read one aggregate's batches. */
export interface BatchReadRequest {
  readonly fs: FileSystem;
  readonly codec: FileCodec;
  readonly type: string;
  readonly id: string;
  /** Read the batches after this version (0: from the start). */
  readonly afterVersion: number;
  /** Reads kept in flight. */
  readonly concurrency: number;
  /**
   * The snapshot the state was restored from (its version is `afterVersion`): the batch
   * that ends at its version must exist, and is checked (its header only) before any
   * later batch is yielded; it is reported through `onAnchor`.
   */
  readonly anchor?: SnapshotAnchor;
  /** Hears of the anchor's batch once it is found to end at the anchor's version. */
  readonly onAnchor?: (batch: StoredBatch, path: string) => void;
}

/**
 * The snapshot does not sit on a batch boundary (a snapshot inside a batch, or of another
 * history): the state must be rebuilt without it. Not a loss of data.
 */
export class MisalignedSnapshotError extends CorruptFileError {}

type Listed = { readonly path: string; readonly anchor: boolean };

/**
 * Yields an aggregate's batches after `afterVersion`, in order, fetching up to
 * `concurrency` files at once, and checks that their versions follow each other with no
 * gap or overlap. Only the batches in flight are held in memory.
 *
 * @throws {StreamIntegrityError} on a gap or overlap, naming the files, or (`lost`) when
 *   the anchor snapshot is newer than the batch it should end.
 * @throws {MisalignedSnapshotError} when the anchor snapshot does not end a stored batch.
 */
export async function* readBatches(request: BatchReadRequest): AsyncGenerator<DecodedBatch> {
  const { fs, codec, type, id, afterVersion, anchor } = request;
  const folder = eventsFolder(type, id);
  const files = mapOrdered(listBatches(request, folder), request.concurrency, async ({ path, anchor: isAnchor }) => {
    const first = versionInName(path, '.batch');
    if (first === undefined || path.slice(folder.length).includes('/')) {
      throw new MisplacedFileError(path, 'not a batch file name (expected 12 digits and ".batch")');
    }
    const bytes = await codec.fetch(fs, path, 'batch');
    if (bytes === undefined) throw new CorruptFileError(path, 'listed, then gone when read');
    // The anchor's events are in the snapshot: only its header is needed.
    if (isAnchor) return { anchor: codec.batchHeader(path, bytes, { type, id, first }), path };
    return { batch: await codec.readBatch(path, bytes, { type, id, first }), path };
  });
  let expected = afterVersion + 1;
  let previous: string | undefined;
  let checked = anchor === undefined;
  for await (const file of files) {
    if (!checked) {
      checked = true;
      const found = file.anchor ? { ...file.anchor, path: file.path } : undefined;
      checkAnchor(anchor as SnapshotAnchor, found);
      const { first, last, commit } = file.anchor as StoredBatch;
      request.onAnchor?.(commit === undefined ? { first, last } : { first, last, commit }, file.path);
      previous = file.path;
      continue;
    }
    const batch = file.batch as DecodedBatch;
    const { first, last } = batch.header;
    if (first !== expected) {
      // A batch that starts inside the range already read overlaps; one past it leaves a gap.
      throw new StreamIntegrityError(first < expected ? 'overlap' : 'gap', batch.path, expected, first, previous);
    }
    yield batch;
    expected = last + 1;
    previous = batch.path;
  }
  if (!checked) checkAnchor(anchor as SnapshotAnchor, undefined);
}

/**
 * The names to read. With an anchor: its batch (the last one starting at or before the
 * snapshot's version, marked) and every later one; without: those after `afterVersion`.
 */
function listBatches(request: BatchReadRequest, folder: string): AsyncGenerator<Listed> {
  const { fs, type, id, afterVersion, anchor } = request;
  // With the snapshot's batch known, the listing starts right at it; else it walks from the start.
  const after = anchor === undefined ? afterVersion : (anchor.batch ?? 1) - 1;
  const names = GuardedFileSystem.of(fs).list(folder, after > 0 ? { startAfter: batchPath(type, id, after) } : {});
  return anchor === undefined ? unmarked(names) : markAnchor(names, anchor.version);
}

async function* unmarked(names: AsyncIterable<string>): AsyncGenerator<Listed> {
  for await (const path of names) yield { path, anchor: false };
}

/** Drops the names before the last one starting at or before `version`, which is marked as the anchor. */
async function* markAnchor(names: AsyncIterable<string>, version: number): AsyncGenerator<Listed> {
  let candidate: string | undefined;
  let passed = false;
  for await (const path of names) {
    if (!passed) {
      const first = versionInName(path, '.batch');
      if (first !== undefined && first <= version) {
        candidate = path;
        continue;
      }
      passed = true;
      if (candidate !== undefined) yield { path: candidate, anchor: true };
    }
    yield { path, anchor: false };
  }
  if (!passed && candidate !== undefined) yield { path: candidate, anchor: true };
}

/**
 * Checks that the snapshot's version ends the batch found for it (the last one starting at
 * or before that version).
 */
function checkAnchor(anchor: SnapshotAnchor, found: (StoredBatch & { path: string }) | undefined): void {
  const { version } = anchor;
  if (found === undefined) {
    // No batch at or before the snapshot: its history is gone or it belongs elsewhere; a
    // replay without it reports what the batches lack.
    throw new MisalignedSnapshotError(anchor.path, `no stored batch holds version ${version}`);
  }
  if (found.last < version) {
    throw new StreamIntegrityError('lost', anchor.path, found.last + 1, version, found.path, {
      detail: `the snapshot is at version ${version}, but the batches end at ${found.last} (${found.path}): the store lost the batches after it (or the snapshot belongs elsewhere)`,
    });
  }
  if (found.last > version || (anchor.batch !== undefined && found.first !== anchor.batch)) {
    throw new MisalignedSnapshotError(
      anchor.path,
      `the snapshot at version ${version} does not end a stored batch (${found.path} holds versions ${found.first}–${found.last}): ignored, the state is rebuilt from the batches`,
    );
  }
}
