import { CorruptFileError, MisplacedFileError, StreamIntegrityError } from '../errors.js';
import { batchPath, eventsFolder, versionInName } from '../format/layout.js';
import type { FileSystem } from '../fs/file-system.js';
import { mapOrdered } from '../util/ordered.js';
import type { DecodedBatch, FileCodec } from './codec.js';
import { storage, storageList } from './storage.js';

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
}

/**
 * Yields an aggregate's batches after `afterVersion`, in order, fetching up to
 * `concurrency` files at once, and checks that their versions follow each other with no
 * gap or overlap. Only the batches in flight are held in memory.
 *
 * @throws {StreamIntegrityError} on a gap or overlap, naming the files.
 */
export async function* readBatches(request: BatchReadRequest): AsyncGenerator<DecodedBatch> {
  const { fs, codec, type, id, afterVersion } = request;
  const folder = eventsFolder(type, id);
  const startAfter = afterVersion > 0 ? batchPath(type, id, afterVersion) : undefined;
  const names = storageList(fs, folder, startAfter === undefined ? {} : { startAfter });
  const files = mapOrdered(names, request.concurrency, async (path) => {
    const first = versionInName(path, '.batch');
    if (first === undefined || path.slice(folder.length).includes('/')) {
      throw new MisplacedFileError(path, 'not a batch file name (expected 12 digits and ".batch")');
    }
    const bytes = await storage('read', path, () => fs.read(path));
    if (bytes === undefined) throw new CorruptFileError(path, 'listed, then gone when read');
    return codec.readBatch(path, bytes, { type, id, first });
  });
  let expected = afterVersion + 1;
  let previous: string | undefined;
  for await (const batch of files) {
    const { first, last } = batch.header;
    if (first !== expected) {
      // A batch that starts inside the range already read overlaps; one past it leaves a gap.
      throw new StreamIntegrityError(first < expected ? 'overlap' : 'gap', batch.path, expected, first, previous);
    }
    yield batch;
    expected = last + 1;
    previous = batch.path;
  }
}
