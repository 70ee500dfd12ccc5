import { DataKeys, type EncryptionOptions } from '../codec/keys.js';
import { CodecPipeline } from '../codec/pipeline.js';
import { json } from '../parsers/json.js';
import { msgpack } from '../parsers/msgpack.js';
import type { Format } from '../parsers/parser.js';
import { readBatches } from '../repository/batch-reader.js';
import { type DecodedBatch, FileCodec } from '../repository/codec.js';
import type { FileSystem } from '../storage/file-system.js';

export type { DecodedBatch } from '../repository/codec.js';

/** Options of {@link readStoredBatches}. */
export interface ReadStoredBatchesOptions {
  /** Start after this version (default 0). */
  readonly afterVersion?: number;
  /** Reads in flight (default: the file system's `readConcurrency`, else 4). */
  readonly concurrency?: number;
  /** Formats to read besides JSON and MessagePack. */
  readonly formats?: readonly Format[];
  /** The keys of an encrypted store (without them, encrypted files fail with `EVSRC_MISSING_KEY`). */
  readonly encryption?: EncryptionOptions;
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
    codec: storedFileCodec(options.formats, options.encryption, fs),
    type,
    id,
    afterVersion: options.afterVersion ?? 0,
    concurrency: options.concurrency ?? fs.readConcurrency ?? 4,
  });
}

/**
 * Decodes and checks one batch or snapshot file as stored at `path`, for tools. With
 * `encryption` it decrypts too (and, given the file system, finds aggregates' data keys).
 */
export function storedFileCodec(
  formats: readonly Format[] = [],
  encryption?: EncryptionOptions,
  fileSystem?: FileSystem,
): FileCodec {
  const pipeline = new CodecPipeline(encryption ? { encryption } : {});
  const dataKeys = pipeline.keyring && fileSystem ? new DataKeys(fileSystem, pipeline.keyring) : undefined;
  return new FileCodec(json, [msgpack, ...formats], pipeline, dataKeys);
}

export { FileCodec } from '../repository/codec.js';
