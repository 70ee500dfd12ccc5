import { close, constants, fstat, open, read } from 'node:fs';
import { FileTooLargeError, type ReadOptions } from '@evsrc/core';
import { checkReadSize, MAX_READ_BYTES } from '@evsrc/core/adapter';

/** Files up to this size (less one byte) are read with a single `read`. */
const SMALL_FILE = 64 * 1024;
/** The most one `read` call may ask for (Node refuses lengths over 2 GiB - 1). */
const MAX_READ_CALL = 1024 * 1024 * 1024;
/** Read buffers kept for reuse: one is taken per read in flight. */
const spare: Buffer[] = [];
const MAX_SPARE = 16;
const ignore = () => undefined;

/** Read-only, and never through a symbolic link as the last component (`ELOOP` instead; not on Windows). */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);

const openForReading = (path: string) =>
  new Promise<number>((resolve, reject) =>
    open(path, READ_FLAGS, (error, fd) => (error ? reject(error) : resolve(fd))),
  );

const readAt = (fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) =>
    read(fd, buffer, offset, length, position, (error, n) => (error ? reject(error) : resolve(n))),
  );

const sizeOf = (fd: number) =>
  new Promise<number>((resolve, reject) => fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats.size))));

/** The file grew past `limit` while being read (its size was within it when checked). */
function grewTooLarge(name: string, limit: number, options: ReadOptions | undefined): FileTooLargeError {
  const setting = limit === options?.maxBytes ? undefined : 'the largest buffer this Node can allocate';
  return new FileTooLargeError(name, undefined, limit, setting);
}

/**
 * Reads the rest of a file of `size` bytes (by `fstat`) whose first `head.byteLength` bytes
 * are in `head`, on the same descriptor, into one buffer of its size plus one byte (so
 * that the end is seen without growing it), in reads of at most 1 GiB.
 */
async function readRest(
  fd: number,
  head: Buffer,
  size: number,
  name: string,
  options: ReadOptions | undefined,
): Promise<Buffer> {
  const limit = Math.min(options?.maxBytes ?? MAX_READ_BYTES, MAX_READ_BYTES);
  let out = Buffer.allocUnsafeSlow(Math.min(Math.max(size, head.byteLength) + 1, MAX_READ_BYTES));
  head.copy(out, 0);
  let length = head.byteLength;
  for (;;) {
    if (length === out.byteLength) {
      // The file grew since fstat (or fstat under-reported): make room and go on, up to the limit.
      if (length > limit) throw grewTooLarge(name, limit, options);
      if (length === MAX_READ_BYTES) {
        if ((await readAt(fd, Buffer.alloc(1), 0, 1, length)) === 0) return out;
        throw grewTooLarge(name, limit, options);
      }
      const bigger = Buffer.allocUnsafeSlow(Math.min(out.byteLength * 2, limit + 1, MAX_READ_BYTES));
      out.copy(bigger, 0, 0, length);
      out = bigger;
    }
    const n = await readAt(fd, out, length, Math.min(out.byteLength - length, MAX_READ_CALL), length);
    if (n === 0) return out.subarray(0, length);
    length += n;
  }
}

/**
 * Reads a whole file into a buffer of its own. A small file (a batch of 100 events is a few
 * KB) costs one `open` and one `read` into a reused buffer, then a copy of exactly its
 * bytes; its `close` is not waited for. `readFile` also runs an `fstat` first and waits for
 * the `close` (about 1.3× slower per batch file here, Node 20; `fs/promises.readFile`, which
 * reads in chunks, was slower still). A read of a regular file that returns fewer bytes than
 * asked has reached the end of the file; a file that fills the buffer is `fstat`ed on the
 * same descriptor: over `options.maxBytes` (or the largest buffer) it is refused with a
 * `FileTooLargeError` naming `name`, else its first 64 KiB go to `options.head`, then the
 * rest is read from where it stopped. Other errors are those of `open`, `read` and `fstat`
 * (`EISDIR` for a folder, `ELOOP` for a symbolic link: it is not followed).
 */
export async function readWholeFile(path: string, name: string, options?: ReadOptions): Promise<Buffer> {
  const fd = await openForReading(path);
  const buffer = spare.pop() ?? Buffer.allocUnsafeSlow(SMALL_FILE);
  try {
    const n = await readAt(fd, buffer, 0, SMALL_FILE, 0);
    if (n < SMALL_FILE) {
      if (options?.maxBytes !== undefined) checkReadSize(name, n, options);
      const out = Buffer.allocUnsafeSlow(n);
      buffer.copy(out, 0, 0, n);
      return out;
    }
    const size = await sizeOf(fd);
    checkReadSize(name, size, options); // before any buffer of that size exists
    options?.head?.(buffer, Math.max(size, n));
    return await readRest(fd, buffer, size, name, options);
  } finally {
    if (spare.length < MAX_SPARE) spare.push(buffer);
    close(fd, ignore);
  }
}
