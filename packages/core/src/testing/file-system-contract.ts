// Over 300 lines: one contract suite sharing its fixtures; split, each part would repeat the setup.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CorruptFileError,
  ErrorCode,
  FileExistsError,
  FileTooLargeError,
  InvalidPathError,
  isEvsrcError,
} from '../errors.js';
import { type FileSystem, HEAD_CHECK_ABOVE, READ_HEAD_BYTES } from '../storage/file-system.js';
import { collect } from './collect.js';

/** How {@link describeFileSystemContract} gets file systems to test. */
export interface FileSystemContractOptions {
  /**
   * Returns an empty file system for one test (e.g. a fresh temporary folder, or a fresh
   * key prefix on a shared server). Called once per test.
   */
  create(): FileSystem | Promise<FileSystem>;
  /**
   * Optional: a second, independent client (its own connection) onto the same store as
   * `fs`, used to check that races and visibility hold across clients.
   */
  secondClient?(fs: FileSystem): FileSystem | Promise<FileSystem>;
  /** Called after each test with every file system it created (default: `close()` each). */
  dispose?(fs: FileSystem): Promise<void>;
  /** Per-test timeout in ms (default 30,000). */
  timeout?: number;
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

/**
 * Defines the `FileSystem` conformance suite under vitest. Any adapter — evsrc's own or
 * yours — proves it honours the contract with a few lines:
 *
 * @example
 * ```ts
 * import { describeFileSystemContract } from '@evsrc/core/testing/vitest';
 * describeFileSystemContract('my store', { create: () => new MyFileSystem(...) });
 * ```
 */
export function describeFileSystemContract(name: string, options: FileSystemContractOptions): void {
  const timeout = options.timeout ?? 30_000;
  const opened: FileSystem[] = [];
  const open = async (): Promise<FileSystem> => {
    const fs = await options.create();
    opened.push(fs);
    return fs;
  };

  describe(`FileSystem contract: ${name}`, { timeout }, () => {
    afterEach(async () => {
      const all = opened.splice(0);
      for (const fs of all.reverse()) {
        if (options.dispose) await options.dispose(fs);
        else await fs.close?.();
      }
    });

    it('reads a missing file as undefined', async () => {
      const fs = await open();
      expect(await fs.read('nothing/here')).toBeUndefined();
    });

    it('reads back what it created (read-after-write)', async () => {
      const fs = await open();
      await fs.create('a/b/c.txt', text('hello'));
      expect(str(await fs.read('a/b/c.txt'))).toBe('hello');
    });

    it('refuses to create an existing file with a typed error and keeps the old content', async () => {
      const fs = await open();
      await fs.create('k', text('first'));
      const err = await fs.create('k', text('second')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FileExistsError);
      expect(isEvsrcError(err, ErrorCode.FileExists)).toBe(true);
      expect((err as FileExistsError).path).toBe('k');
      expect(str(await fs.read('k'))).toBe('first');
    });

    it('creates a file after its predecessor only while that one exists (requires)', async () => {
      const fs = await open();
      // Nested like evsrc's batches (same folder) and feed entries (the next chunk folder).
      await fs.create('t/a/events/1', text('one'));
      await fs.create('t/a/events/2', text('two'), { requires: 't/a/events/1' });
      await fs.create('t/a/x/3', text('three'), { requires: 't/a/events/2' });
      const err = await fs.create('t/a/events/5', text('five'), { requires: 't/a/events/4' }).catch((e: unknown) => e);
      expect(isEvsrcError(err, ErrorCode.MissingPredecessor), String(err)).toBe(true);
      expect(err).toMatchObject({ path: 't/a/events/5', requires: 't/a/events/4' });
      expect(await fs.read('t/a/events/5')).toBeUndefined();
      expect(await collect(fs.list('t/a/events/'))).toEqual(['t/a/events/1', 't/a/events/2']);
      // Deleted behind the writer's back: the next create is refused, then allowed once it is back.
      await fs.delete('t/a/events/2');
      const again = await fs.create('t/a/events/3', text('3'), { requires: 't/a/events/2' }).catch((e: unknown) => e);
      expect(isEvsrcError(again, ErrorCode.MissingPredecessor), String(again)).toBe(true);
      await fs.create('t/a/events/2', text('two'));
      await fs.create('t/a/events/3', text('3'), { requires: 't/a/events/2' });
      // A taken name is still a FileExistsError when the predecessor exists.
      const taken = await fs.create('t/a/events/3', text('x'), { requires: 't/a/events/2' }).catch((e: unknown) => e);
      expect(isEvsrcError(taken, ErrorCode.FileExists), String(taken)).toBe(true);
      expect(str(await fs.read('t/a/events/3'))).toBe('3');
    });

    it('lets exactly one of 20 parallel creates of one name win, and keeps the winner’s bytes', async () => {
      const fs = await open();
      const clients = [fs];
      if (options.secondClient) {
        const second = await options.secondClient(fs);
        opened.push(second);
        clients.push(second);
      }
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          (clients[i % clients.length] as FileSystem).create('race/x', text(`writer ${i}`)),
        ),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(isEvsrcError(r.reason, ErrorCode.FileExists)).toBe(true);
      }
      expect(str(await fs.read('race/x'))).toBe(`writer ${winners[0]}`);
    });

    it('replaces atomically, creating the file when it is absent', async () => {
      const fs = await open();
      await fs.replace('r', text('one'));
      expect(str(await fs.read('r'))).toBe('one');
      await fs.replace('r', text('two, longer'));
      expect(str(await fs.read('r'))).toBe('two, longer');
      await fs.replace('r', text('3'));
      expect(str(await fs.read('r'))).toBe('3');
      await expect(fs.create('r', text('x'))).rejects.toSatisfy((e) => isEvsrcError(e, ErrorCode.FileExists));
      expect(await collect(fs.list(''))).toEqual(['r']);
    });

    it('deletes files; deleting a missing file is not an error; the name can be created again', async () => {
      const fs = await open();
      await fs.create('d/1', text('x'));
      await fs.create('d/2', text('y'));
      await fs.delete('d/1');
      await fs.delete('d/1');
      await fs.delete('never/was');
      expect(await fs.read('d/1')).toBeUndefined();
      expect(await collect(fs.list('d/'))).toEqual(['d/2']);
      await fs.create('d/1', text('again'));
      expect(str(await fs.read('d/1'))).toBe('again');
    });

    it('stores every byte value, empty files and a 10 MiB file exactly', async () => {
      const fs = await open();
      const all = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
      const big = new Uint8Array(randomBytes(10 * 1024 * 1024));
      await fs.create('bin/all', all);
      await fs.create('bin/empty', new Uint8Array(0));
      await fs.create('bin/big', big);
      expect(Buffer.from((await fs.read('bin/all')) as Uint8Array).equals(Buffer.from(all))).toBe(true);
      const empty = await fs.read('bin/empty');
      expect(empty).toBeInstanceOf(Uint8Array);
      expect(empty?.byteLength).toBe(0);
      const back = (await fs.read('bin/big')) as Uint8Array;
      expect(back.byteLength).toBe(big.byteLength);
      expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true);
      await fs.replace('bin/empty', all);
      expect(Buffer.from((await fs.read('bin/empty')) as Uint8Array).equals(Buffer.from(all))).toBe(true);
    });

    it('refuses a file over maxBytes with a typed error naming it, its size and the limit', async () => {
      const fs = await open();
      const data = new Uint8Array(randomBytes(1000));
      await fs.create('limit/small', data);
      await fs.create('limit/empty', new Uint8Array(0));
      expect(Buffer.from((await fs.read('limit/small', { maxBytes: 1000 })) as Uint8Array).equals(data)).toBe(true);
      const err = await fs.read('limit/small', { maxBytes: 999 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FileTooLargeError);
      expect(isEvsrcError(err, ErrorCode.FileTooLarge)).toBe(true);
      expect(err).toMatchObject({ path: 'limit/small', size: 1000, limit: 999 });
      expect(String(err)).toMatch(/limit\/small.*1000 bytes.*999 bytes/);
      expect((await fs.read('limit/empty', { maxBytes: 0 }))?.byteLength).toBe(0);
      expect(await fs.read('limit/missing', { maxBytes: 0 })).toBeUndefined();
    });

    it('refuses a large file over maxBytes from its size, and still reads it within the limit', async () => {
      const fs = await open();
      const big = new Uint8Array(randomBytes(2 * 1024 * 1024 + 7));
      await fs.create('limit/big', big);
      const err = await fs.read('limit/big', { maxBytes: 1024 * 1024 }).catch((e: unknown) => e);
      expect(isEvsrcError(err, ErrorCode.FileTooLarge)).toBe(true);
      expect(err).toMatchObject({ path: 'limit/big', size: big.byteLength, limit: 1024 * 1024 });
      // The refused read left the client usable.
      const back = (await fs.read('limit/big', { maxBytes: big.byteLength })) as Uint8Array;
      expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true);
    });

    it('gives a large file’s first bytes and size to head before the rest, and stops with what head throws', async () => {
      const fs = await open();
      const big = new Uint8Array(randomBytes(HEAD_CHECK_ABOVE + 12_345));
      await fs.create('head/big', big);
      const calls: { first: Uint8Array; size: number }[] = [];
      const head = (first: Uint8Array, size: number) => {
        calls.push({ first: first.slice(), size });
      };
      const back = (await fs.read('head/big', { head })) as Uint8Array;
      expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true);
      expect(calls).toHaveLength(1);
      const [{ first, size }] = calls as [{ first: Uint8Array; size: number }];
      expect(size).toBe(big.byteLength);
      expect(first.byteLength).toBeGreaterThanOrEqual(READ_HEAD_BYTES);
      expect(Buffer.from(first).equals(Buffer.from(big.subarray(0, first.byteLength)))).toBe(true);
      const refusal = new CorruptFileError('head/big', 'refused by its head');
      const err = await fs
        .read('head/big', {
          head: () => {
            throw refusal;
          },
        })
        .catch((e: unknown) => e);
      expect(err).toBe(refusal);
      // Small files are read whole: head is optional for them, and their bytes are intact.
      await fs.create('head/small', big.subarray(0, 100));
      expect((await fs.read('head/small', { head, maxBytes: 100 }))?.byteLength).toBe(100);
      expect(Buffer.from((await fs.read('head/big')) as Uint8Array).equals(Buffer.from(big))).toBe(true);
    });

    it('keeps no reference to the caller’s buffers', async () => {
      const fs = await open();
      const data = text('abc');
      await fs.create('own', data);
      data[0] = 0x7a;
      const read = (await fs.read('own')) as Uint8Array;
      expect(str(read)).toBe('abc');
      read[1] = 0x7a;
      expect(str(await fs.read('own'))).toBe('abc');
    });

    it('handles names with spaces and non-ASCII characters', async () => {
      const fs = await open();
      const names = ['u/with space', 'u/café', 'u/日本語', 'u/emoji 😀', 'u/%2e%2e', 'u/a+b=c&d'];
      for (const n of names) await fs.create(n, text(n));
      for (const n of names) expect(str(await fs.read(n))).toBe(n);
      expect((await collect(fs.list('u/'))).sort()).toEqual([...names].sort());
    });

    it('lists in code point (UTF-8 byte) order, across folders', async () => {
      const fs = await open();
      const expected = ['o/A', 'o/a-1', 'o/a/1', 'o/a/2/x', 'o/a0', 'o/b', 'o/é', 'o/\uFFFD', 'o/😀'];
      const shuffled = [...expected].sort(() => Math.random() - 0.5);
      for (const n of shuffled) await fs.create(n, text('.'));
      expect(await collect(fs.list('o/'))).toEqual(expected);
      expect(await collect(fs.list(''))).toEqual(expected);
    });

    it('isolates prefixes: a prefix is a plain string prefix, not a folder', async () => {
      const fs = await open();
      for (const n of ['x/ab', 'x/abc', 'x/a/b', 'x/b', 'xy/ab', 'y/ab']) await fs.create(n, text('.'));
      expect(await collect(fs.list('x/ab'))).toEqual(['x/ab', 'x/abc']);
      expect(await collect(fs.list('x/a/'))).toEqual(['x/a/b']);
      expect(await collect(fs.list('x/'))).toEqual(['x/a/b', 'x/ab', 'x/abc', 'x/b']);
      expect(await collect(fs.list('x'))).toEqual(['x/a/b', 'x/ab', 'x/abc', 'x/b', 'xy/ab']);
      expect(await collect(fs.list('z/'))).toEqual([]);
    });

    it('honours startAfter, whether or not that name exists', async () => {
      const fs = await open();
      for (const n of ['s/1', 's/3', 's/5', 's/7', 't/0']) await fs.create(n, text('.'));
      expect(await collect(fs.list('s/', { startAfter: 's/3' }))).toEqual(['s/5', 's/7']);
      expect(await collect(fs.list('s/', { startAfter: 's/4' }))).toEqual(['s/5', 's/7']);
      expect(await collect(fs.list('s/', { startAfter: 'a' }))).toEqual(['s/1', 's/3', 's/5', 's/7']);
      expect(await collect(fs.list('s/', { startAfter: 's/7' }))).toEqual([]);
      expect(await collect(fs.list('s/', { startAfter: 'zzz' }))).toEqual([]);
      expect(await collect(fs.list('', { startAfter: 's/5' }))).toEqual(['s/7', 't/0']);
    });

    it('pages through more names than one page holds, with limit and startAfter', async () => {
      const fs = await open();
      const names = Array.from({ length: 250 }, (_, i) => `p/${String(i).padStart(4, '0')}`);
      await Promise.all(names.map((n) => fs.create(n, text(n))));
      expect(await collect(fs.list('p/', { pageSize: 100 }))).toEqual(names);
      expect(await collect(fs.list('p/', { pageSize: 7, limit: 30 }))).toEqual(names.slice(0, 30));
      expect(await collect(fs.list('p/', { pageSize: 100, startAfter: 'p/0149' }))).toEqual(names.slice(150));
      expect(await collect(fs.list('p/', { limit: 0 }))).toEqual([]);
    });

    it('rejects invalid names with a typed error', async () => {
      const fs = await open();
      for (const bad of ['', '/abs', 'trail/', 'a//b', 'a/../b', '..', './a', 'nul\0byte', 'back\\slash']) {
        const err = await fs.create(bad, text('x')).catch((e: unknown) => e);
        expect(err, `create(${JSON.stringify(bad)})`).toBeInstanceOf(InvalidPathError);
        const readErr = await fs.read(bad).catch((e: unknown) => e);
        expect(readErr, `read(${JSON.stringify(bad)})`).toBeInstanceOf(InvalidPathError);
      }
    });

    it('shows files written by one client to another client', async () => {
      const fs = await open();
      const other = options.secondClient ? await options.secondClient(fs) : fs;
      if (other !== fs) opened.push(other);
      await fs.create('v/1', text('one'));
      expect(str(await other.read('v/1'))).toBe('one');
      expect(await collect(other.list('v/'))).toEqual(['v/1']);
      await other.replace('v/1', text('uno'));
      expect(str(await fs.read('v/1'))).toBe('uno');
    });
  });
}
