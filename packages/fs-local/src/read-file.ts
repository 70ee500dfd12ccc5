import { close, constants, fstat, open, read } from 'node:fs';

/** Files up to this size (less one byte) are read with a single `read`. */
const SMALL_FILE = 64 * 1024;
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

const readAt = (fd: number, buffer: Buffer, offset: number, position: number) =>
  new Promise<number>((resolve, reject) =>
    read(fd, buffer, offset, buffer.byteLength - offset, position, (error, n) => (error ? reject(error) : resolve(n))),
  );

const sizeOf = (fd: number) =>
  new Promise<number>((resolve, reject) => fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats.size))));

/** Reads the rest of a file whose first `head.byteLength` bytes are in `head`, on the same descriptor. */
async function readRest(fd: number, head: Buffer): Promise<Buffer> {
  let out = Buffer.allocUnsafeSlow(Math.max(await sizeOf(fd), head.byteLength + 1));
  head.copy(out, 0);
  let length = head.byteLength;
  for (;;) {
    if (length === out.byteLength) {
      // The file grew since fstat (or fstat under-reported): make room and go on.
      const bigger = Buffer.allocUnsafeSlow(out.byteLength * 2);
      out.copy(bigger, 0, 0, length);
      out = bigger;
    }
    const n = await readAt(fd, out, length, length);
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
 * asked has reached the end of the file; a file that fills the buffer is read on, on the
 * same descriptor, from where it stopped. Errors are those of `open`, `read` and `fstat`
 * (`EISDIR` for a folder, `ELOOP` for a symbolic link: it is not followed).
 */
export async function readWholeFile(path: string): Promise<Buffer> {
  const fd = await openForReading(path);
  const buffer = spare.pop() ?? Buffer.allocUnsafeSlow(SMALL_FILE);
  try {
    const n = await readAt(fd, buffer, 0, 0);
    if (n < SMALL_FILE) {
      const out = Buffer.allocUnsafeSlow(n);
      buffer.copy(out, 0, 0, n);
      return out;
    }
    return await readRest(fd, buffer);
  } finally {
    if (spare.length < MAX_SPARE) spare.push(buffer);
    close(fd, ignore);
  }
}
