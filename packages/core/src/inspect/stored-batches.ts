import type { FileSystem } from '../fs/file-system.js';
import { json } from '../parsers/json.js';
import { msgpack } from '../parsers/msgpack.js';
import type { Format } from '../parsers/parser.js';
import { readBatches } from '../repository/batch-reader.js';
import { type DecodedBatch, FileCodec } from '../repository/codec.js';

export type { DecodedBatch } from '../repository/codec.js';

/** Options of {@link readStoredBatches}. */
export interface ReadStoredBatchesOptions {
  /** Start after this version (default 0). */
  readonly afterVersion?: number;
  /** Reads in flight (default: the file system's `readConcurrency`, else 4). */
  readonly concurrency?: number;
  /** Formats to read besides JSON and MessagePack. */
  readonly formats?: readonly Format[];
}

/**
 * Reads one aggregate's batches as stored — header and plain events, no event classes
 * needed — in order, checked like a load (checksums, headers against paths, no gap or
 * overlap). For tools that inspect a store they have no code for.
 */
export function readStoredBatches(
  fs: FileSystem,
  type: string,
  id: string,
  options: ReadStoredBatchesOptions = {},
): AsyncGenerator<DecodedBatch> {
  return readBatches({
    fs,
    codec: new FileCodec(json, [msgpack, ...(options.formats ?? [])]),
    type,
    id,
    afterVersion: options.afterVersion ?? 0,
    concurrency: options.concurrency ?? fs.readConcurrency ?? 4,
  });
}

/** Decodes and checks one batch or snapshot file as stored at `path`, for tools. */
export function storedFileCodec(formats: readonly Format[] = []): FileCodec {
  return new FileCodec(json, [msgpack, ...formats]);
}

export { FileCodec } from '../repository/codec.js';
