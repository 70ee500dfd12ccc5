import { constants } from 'node:buffer';
import { FileTooLargeError } from '../errors.js';
import { READ_HEAD_BYTES, type ReadOptions } from './file-system.js';

/**
 * Helpers for adapters to honour {@link ReadOptions}: a size limit checked before a file's
 * bytes are read, and the early `head` check of large files.
 *
 * @module
 */

/** The largest buffer this Node can allocate: no read can return more. */
export const MAX_READ_BYTES: number = constants.MAX_LENGTH;

/** From this size up, {@link readStreamBody} hands a file's first bytes to `head` before reading on (64 KiB). */
export const STREAM_HEAD_ABOVE = 64 * 1024;

/**
 * Refuses a file of `size` bytes when it is over `options.maxBytes`, or over the largest
 * buffer this platform holds (whatever the options).
 * @throws {FileTooLargeError} naming `path`, the size and the limit.
 */
export function checkReadSize(path: string, size: number, options: ReadOptions | undefined): void {
  const max = options?.maxBytes;
  if (max !== undefined && size > max) throw new FileTooLargeError(path, size, max);
  if (size > MAX_READ_BYTES) {
    throw new FileTooLargeError(path, size, MAX_READ_BYTES, 'the largest buffer this Node can allocate');
  }
}

type Chunk = Uint8Array | string;

/**
 * Reads a response body (a Node stream or any async iterable of chunks) into one fresh
 * array, for adapters whose backend says the size before the body (`Content-Length`):
 * the size is checked first ({@link checkReadSize}) and the array allocated once; a file
 * over {@link STREAM_HEAD_ABOVE} bytes has its first {@link READ_HEAD_BYTES} handed to
 * `options.head` before the rest is read. When the body is not read to its end (a refusal,
 * a `head` that throws, a failure), it is destroyed, which drops its connection.
 * With `size` unknown, the limit is checked as the bytes arrive.
 * @throws {FileTooLargeError} from the size, or whatever `head` throws; an `Error` when the
 * body is longer or shorter than `size` (the adapter wraps it as a `StorageError`).
 */
export async function readStreamBody(
  path: string,
  body: AsyncIterable<Chunk>,
  size: number | undefined,
  options?: ReadOptions,
): Promise<Uint8Array> {
  try {
    if (size === undefined) return await readUnsized(path, body, options);
    checkReadSize(path, size, options);
    const out = new Uint8Array(size);
    const head = size > STREAM_HEAD_ABOVE ? options?.head : undefined;
    const headAt = Math.min(size, READ_HEAD_BYTES);
    let length = 0;
    for await (const chunk of body) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (length + bytes.byteLength > size) throw new Error(`the body is longer than its stated ${size} bytes`);
      out.set(bytes, length);
      const before = length;
      length += bytes.byteLength;
      if (head !== undefined && before < headAt && length >= headAt) head(out.subarray(0, length), size);
    }
    if (length !== size) throw new Error(`the body ended after ${length} of its stated ${size} bytes`);
    return out;
  } catch (error) {
    destroy(body);
    throw error;
  }
}

async function readUnsized(path: string, body: AsyncIterable<Chunk>, options: ReadOptions | undefined) {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    length += bytes.byteLength;
    const max = Math.min(options?.maxBytes ?? MAX_READ_BYTES, MAX_READ_BYTES);
    if (length > max) {
      const setting = max === options?.maxBytes ? undefined : 'the largest buffer this Node can allocate';
      throw new FileTooLargeError(path, undefined, max, setting);
    }
    chunks.push(bytes);
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const bytes of chunks) {
    out.set(bytes, offset);
    offset += bytes.byteLength;
  }
  return out;
}

/** Stops a body that will not be read on (a Node stream: closes its socket). */
function destroy(body: AsyncIterable<Chunk>): void {
  const stream = body as { destroy?: () => void; destroyed?: boolean };
  if (typeof stream.destroy === 'function' && stream.destroyed !== true) {
    try {
      stream.destroy(); // without an error: nobody listens for one any more
    } catch {
      // nothing more to do: the read already failed
    }
  }
}
