import * as zlib from 'node:zlib';
import { ConfigurationError, CorruptFileError, FileTooLargeError, UnsupportedFormatError } from '../errors.js';

/**
 * The compression stages of the codec pipeline, on `node:zlib`'s synchronous functions.
 *
 * @module
 */

/** A compression algorithm a store can write: `deflate` (zlib), `brotli`, or `zstd` (Node ≥ 22.15). */
export type Compression = 'deflate' | 'brotli' | 'zstd';

/** The names the pipeline records in a header's `codec` list for each compression. */
export const COMPRESSIONS: readonly Compression[] = ['deflate', 'brotli', 'zstd'];

type ZstdZlib = {
  zstdCompressSync?: (data: Uint8Array) => Buffer;
  zstdDecompressSync?: (data: Uint8Array, options?: { maxOutputLength?: number; chunkSize?: number }) => Buffer;
};
const zstd = zlib as unknown as ZstdZlib;

/** Whether the running Node offers zstd (`zlib.zstdCompressSync`: Node 22.15+, 23.8+; not Node 20). */
export function zstdAvailable(): boolean {
  return typeof zstd.zstdCompressSync === 'function' && typeof zstd.zstdDecompressSync === 'function';
}

/** Whether `name` is a compression stage this code knows (available here or not). */
export function isCompression(name: string): name is Compression {
  return (COMPRESSIONS as readonly string[]).includes(name);
}

/**
 * Checks a configured compression.
 * @throws {ConfigurationError} for an unknown name, or zstd on a Node without it.
 */
export function checkCompression(name: string): Compression {
  if (!isCompression(name)) {
    throw new ConfigurationError(`Unknown compression "${name}" (known: ${COMPRESSIONS.join(', ')})`);
  }
  if (name === 'zstd' && !zstdAvailable()) {
    throw new ConfigurationError(`zstd compression needs Node 22.15 or later; this is Node ${process.versions.node}`);
  }
  return name;
}

/** Brotli's quality 5: about deflate's speed with a better ratio (the default, 11, is far slower). */
const BROTLI_PARAMS = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } };

/** Compresses `data` with `name`. */
export function compress(name: Compression, data: Uint8Array): Uint8Array {
  switch (name) {
    case 'deflate':
      return zlib.deflateSync(data);
    case 'brotli':
      return zlib.brotliCompressSync(data, BROTLI_PARAMS);
    case 'zstd':
      if (!zstd.zstdCompressSync) throw new ConfigurationError('zstd is not available on this Node');
      return zstd.zstdCompressSync(data);
  }
}

/** zlib's smallest output chunk. */
const MIN_CHUNK = 64;

/**
 * Decompresses the body of the file at `path`.
 *
 * With `declared` (the size its header records, in files written since it does), the
 * output must be exactly that long: one buffer of that size (plus one byte) is the only
 * output chunk, and inflating stops as soon as it would overflow it, so a decompression
 * bomb costs no more memory and time than its header admits. Without it (older files), the
 * output may reach `max` bytes (`codec.maxDecompressedBytes`).
 * @throws {FileTooLargeError} when `declared` is over `max` (nothing is decompressed).
 * @throws {UnsupportedFormatError} when the file needs zstd and this Node has none.
 * @throws {CorruptFileError} when the data does not decompress, or to more than `max`
 * bytes, or to another length than `declared`.
 */
export function decompress(
  path: string,
  name: Compression,
  data: Uint8Array,
  max: number,
  declared?: number,
): Uint8Array {
  if (declared !== undefined && declared > max) {
    throw new FileTooLargeError(path, declared, max, 'codec.maxDecompressedBytes', 'its body decompresses to');
  }
  const options =
    declared === undefined
      ? { maxOutputLength: Math.max(1, max) }
      : { maxOutputLength: Math.max(1, declared), chunkSize: Math.max(MIN_CHUNK, declared + 1) };
  let out: Uint8Array;
  try {
    out = run(path, name, data, options);
  } catch (error) {
    if (error instanceof UnsupportedFormatError) throw error;
    if ((error as { code?: unknown })?.code === 'ERR_BUFFER_TOO_LARGE') {
      const bound =
        declared === undefined
          ? `${max} bytes (codec.maxDecompressedBytes)`
          : `the ${declared} bytes its header declares`;
      throw new CorruptFileError(path, `the ${name} body decompresses to more than ${bound}`, error);
    }
    throw new CorruptFileError(path, `the ${name} body does not decompress: ${(error as Error).message}`, error);
  }
  if (declared !== undefined && out.byteLength !== declared) {
    throw new CorruptFileError(
      path,
      `the ${name} body decompresses to ${out.byteLength} bytes, its header declares ${declared}`,
    );
  }
  return out;
}

function run(
  path: string,
  name: Compression,
  data: Uint8Array,
  options: { maxOutputLength: number; chunkSize?: number },
): Uint8Array {
  switch (name) {
    case 'deflate':
      return zlib.inflateSync(data, options);
    case 'brotli':
      return zlib.brotliDecompressSync(data, options);
    case 'zstd':
      if (!zstd.zstdDecompressSync) {
        throw new UnsupportedFormatError(
          path,
          `the file is compressed with zstd, which this Node (${process.versions.node}) does not offer; read it with Node 22.15 or later`,
        );
      }
      return zstd.zstdDecompressSync(data, options);
  }
}
