import { crc32, deflateSync } from 'node:zlib';
import {
  ErrorCode,
  type FileSystem,
  InMemoryFileSystem,
  isEvsrcError,
  type ReadOptions,
  Repository,
  readFile,
} from '@evsrc/core';
import { batchPath, snapshotPath, writeFile } from '@evsrc/core/internals';
import { TestAccount, testAccountType } from '@evsrc/core/testing';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../support/harness.js';

const fields = {
  kind: 'batch',
  parser: 'json',
  type: 'test-account',
  id: 'x',
  first: 1,
  last: 1,
  commit: 'c',
} as const;
const path = batchPath('test-account', 'x', 1);
const MiB = 1024 * 1024;
const repoOn = (fileSystem: FileSystem, more: Partial<ConstructorParameters<typeof Repository>[0]> = {}) =>
  new Repository({ fileSystem, aggregates: [testAccountType()], onError: () => undefined, ...more });

/** How much the process's peak memory grew while `run` ran, in MiB (0 if it had peaked higher before). */
async function peakGrowth(run: () => Promise<unknown>): Promise<number> {
  const before = process.resourceUsage().maxRSS;
  await run();
  return (process.resourceUsage().maxRSS - before) / 1024;
}

/** Re-seals a file's header with some fields changed (a well-formed checksum over a lie). */
function reseal(bytes: Uint8Array, changes: Record<string, unknown>): Uint8Array {
  const { header, body } = readFile(path, bytes, 'batch');
  const { hcrc32: _old, bytes: _b, crc32: _c, ...rest } = header as unknown as Record<string, unknown>;
  const line = JSON.stringify({ ...rest, ...changes, bytes: body.byteLength, crc32: crc32(body) }).slice(0, -1);
  return Buffer.concat([Buffer.from(`${line},"hcrc32":${crc32(Buffer.from(line))}}\n`), body]);
}

/** An in-memory store that honours `head` like a disk (first 64 KiB, before the rest) and counts the bytes it hands out. */
class CountingFileSystem extends InMemoryFileSystem {
  delivered = 0;
  override async read(name: string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    const bytes = await super.read(name);
    if (bytes !== undefined && bytes.byteLength > 64 * 1024)
      options?.head?.(bytes.subarray(0, 64 * 1024), bytes.length);
    this.delivered += bytes?.byteLength ?? 0;
    return bytes;
  }
}

describe('hostile files: decompression bombs', () => {
  const bomb = deflateSync(Buffer.alloc(64 * MiB)); // 64 MiB of zeros in 64 KB

  it('stops a deflate bomb at the body size its header declares: a typed error, at once, in bounded memory', async () => {
    const fs = new InMemoryFileSystem();
    await fs.create(path, writeFile({ ...fields, codec: ['deflate'], raw: 1000 }, bomb));
    let err: unknown;
    const growth = await peakGrowth(async () => {
      err = await errorOf(repoOn(fs).get(TestAccount, 'x'));
    });
    expect(isEvsrcError(err, ErrorCode.CorruptFile)).toBe(true);
    expect(err).toMatchObject({ path });
    expect(String(err)).toMatch(/deflate body decompresses to more than the 1000 bytes its header declares/);
    expect(growth).toBeLessThan(32);
  });

  it('bounds a bomb whose header declares no size (an older file, or one forged to look so) by maxDecompressedBytes', async () => {
    const fs = new InMemoryFileSystem();
    await fs.create(path, writeFile({ ...fields, codec: ['deflate'] }, bomb));
    const err = await errorOf(repoOn(fs, { codec: { maxDecompressedBytes: MiB } }).get(TestAccount, 'x'));
    expect(isEvsrcError(err, ErrorCode.CorruptFile)).toBe(true);
    expect(String(err)).toMatch(/decompresses to more than 1048576 bytes \(codec\.maxDecompressedBytes\)/);
  });

  it('refuses a header that declares a body over maxDecompressedBytes without decompressing it', async () => {
    const fs = new InMemoryFileSystem();
    await fs.create(path, writeFile({ ...fields, codec: ['deflate'], raw: 300 * MiB }, bomb));
    const err = await errorOf(repoOn(fs).get(TestAccount, 'x'));
    expect(isEvsrcError(err, ErrorCode.FileTooLarge)).toBe(true);
    expect(err).toMatchObject({ path, size: 300 * MiB, limit: 256 * MiB, setting: 'codec.maxDecompressedBytes' });
  });

  it('records the body size of compressed files, and refuses a body that decompresses to another size', async () => {
    const fs = new InMemoryFileSystem();
    const repo = repoOn(fs, { codec: { compression: 'deflate' } });
    const a = new TestAccount('x');
    a.open('Ada');
    await repo.save(a);
    const stored = (await fs.read(path)) as Uint8Array;
    const { header } = readFile(path, stored, 'batch');
    expect(header.raw).toBeGreaterThan(0);
    await fs.replace(path, reseal(stored, { raw: (header.raw as number) + 1 }));
    const err = await errorOf(repoOn(fs).get(TestAccount, 'x'));
    expect(isEvsrcError(err, ErrorCode.CorruptFile)).toBe(true);
    expect(String(err)).toMatch(/decompresses to \d+ bytes, its header declares \d+/);
  });
});

describe('hostile files: maxFileBytes', () => {
  async function storeBatch(fs: FileSystem, noteBytes: number) {
    const a = new TestAccount('x');
    a.open('Ada');
    a.deposit(1, 'n'.repeat(noteBytes));
    await repoOn(fs).save(a);
    return ((await fs.read(path)) as Uint8Array).byteLength;
  }

  it('refuses a batch over maxFileBytes with a typed error naming the file, its size and the limit', async () => {
    const fs = new InMemoryFileSystem();
    const size = await storeBatch(fs, 5000);
    const err = await errorOf(repoOn(fs, { maxFileBytes: 4096 }).get(TestAccount, 'x'));
    expect(isEvsrcError(err, ErrorCode.FileTooLarge)).toBe(true);
    expect(err).toMatchObject({ path, size, limit: 4096 });
    expect(String(err)).toContain(
      `${path} is too large: it is ${size} bytes, over the limit of 4096 bytes (maxFileBytes)`,
    );
    expect((await repoOn(fs, { maxFileBytes: size }).get(TestAccount, 'x')).owner).toBe('Ada');
  });

  it('checks the size after the read on a file system that ignores the read options', async () => {
    const inner = new InMemoryFileSystem();
    await storeBatch(inner, 5000);
    const oblivious: FileSystem = {
      read: (name: string) => inner.read(name),
      create: (name, data) => inner.create(name, data),
      replace: (name, data) => inner.replace(name, data),
      list: (prefix, options) => inner.list(prefix, options),
      delete: (name) => inner.delete(name),
    };
    const err = await errorOf(repoOn(oblivious, { maxFileBytes: 4096 }).get(TestAccount, 'x'));
    expect(isEvsrcError(err, ErrorCode.FileTooLarge)).toBe(true);
  });

  it('refuses a large file that is not an evsrc file from its first bytes, before the rest is read', async () => {
    const fs = new CountingFileSystem();
    await fs.create(path, new Uint8Array(8 * MiB).fill(0x41));
    const err = await errorOf(repoOn(fs).get(TestAccount, 'x'));
    expect(isEvsrcError(err, ErrorCode.CorruptFile)).toBe(true);
    expect(String(err)).toMatch(/no header line/);
    expect(fs.delivered).toBe(0);
  });

  it('refuses a large batch whose size disagrees with its header before the rest is read', async () => {
    const fs = new CountingFileSystem();
    await storeBatch(fs, 100);
    const stored = (await fs.read(path)) as Uint8Array;
    fs.delivered = 0;
    await fs.replace(path, Buffer.concat([stored, Buffer.alloc(MiB)]));
    const err = await errorOf(repoOn(fs).get(TestAccount, 'x'));
    expect(isEvsrcError(err, ErrorCode.CorruptFile)).toBe(true);
    expect(String(err)).toMatch(/header says \d+ \(truncated or padded\)/);
    expect(fs.delivered).toBe(0);
  });

  it('refuses to write a batch or a snapshot that no reader with the same limit could read', async () => {
    const fs = new InMemoryFileSystem();
    const errors: unknown[] = [];
    const repo = repoOn(fs, { maxFileBytes: 3000 });
    const a = new TestAccount('x');
    a.open('Ada');
    a.deposit(1, 'n'.repeat(5000));
    const err = await errorOf(repo.save(a));
    expect(isEvsrcError(err, ErrorCode.FileTooLarge)).toBe(true);
    expect(err).toMatchObject({ path, limit: 3000 });
    expect(await fs.read(path)).toBeUndefined();
    // A snapshot too large is not written (reported), and the saves stand.
    // The account's state grows with every deposit (its log keeps each note); a snapshot every 4 versions.
    const snapshotting = new Repository({
      fileSystem: fs,
      aggregates: [testAccountType(4)],
      maxFileBytes: 3000,
      onError: (e) => errors.push(e),
    });
    const b = new TestAccount('b');
    for (let i = 0; i < 4; i++) {
      b.deposit(1, 'i'.repeat(1000));
      await snapshotting.save(b);
    }
    expect(await fs.read(snapshotPath('test-account', 'b', 4))).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: ErrorCode.FileTooLarge,
      path: snapshotPath('test-account', 'b', 4),
      limit: 3000,
    });
    expect((await snapshotting.get(TestAccount, 'b')).log).toHaveLength(4);
  });

  it('refuses an oversized save before the feed logs it, failing no save grouped with it', async () => {
    const fs = new InMemoryFileSystem();
    const repo = repoOn(fs, { maxFileBytes: 3000, feed: true });
    const big = new TestAccount('big');
    big.open('Ada');
    big.deposit(1, 'n'.repeat(5000));
    const small = new TestAccount('small');
    small.open('Ada');
    const [refused, saved] = await Promise.allSettled([repo.save(big), repo.save(small)]);
    expect(refused.status === 'rejected' && isEvsrcError(refused.reason, ErrorCode.FileTooLarge)).toBe(true);
    expect(saved.status).toBe('fulfilled');
    const logged: string[] = [];
    for await (const batch of repo.feed.read()) logged.push(batch.aggregateId);
    expect(logged).toEqual(['small']);
  });

  it('refuses a maxFileBytes that is not a number of bytes', () => {
    for (const bad of [0, -1, Number.NaN, '1' as unknown as number]) {
      expect(() => repoOn(new InMemoryFileSystem(), { maxFileBytes: bad })).toThrow(/maxFileBytes must be/);
    }
    expect(() => repoOn(new InMemoryFileSystem(), { maxFileBytes: Number.POSITIVE_INFINITY })).not.toThrow();
  });
});
