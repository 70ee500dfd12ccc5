import { randomBytes } from 'node:crypto';
import {
  type CodecOptions,
  ErrorCode,
  InMemoryFileSystem,
  isEvsrcError,
  Repository,
  readFile,
  zstdAvailable,
} from '@evsrc/core';
import { batchPath, dataKeyPath, snapshotPath, writeFile } from '@evsrc/core/internals';
import { TestAccount, testAccountType } from '@evsrc/core/testing';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../support/harness.js';

const k1 = new Uint8Array(randomBytes(32));
const k2 = new Uint8Array(randomBytes(32));
const SECRET = 'Ada-Lovelace-secret-owner';
const repoOn = (fileSystem: InMemoryFileSystem, codec?: CodecOptions, every?: number) =>
  new Repository({
    fileSystem,
    aggregates: [testAccountType(every)],
    onError: () => undefined,
    ...(codec ? { codec } : {}),
  });

async function saveSome(repo: Repository, id: string, n = 3) {
  const a = (await repo.find(TestAccount, id)) ?? new TestAccount(id);
  if (a.version === 0) a.open(SECRET);
  for (let i = 0; i < n; i++) a.deposit(10, `${SECRET} note ${i} ${'x'.repeat(40)}`);
  await repo.save(a);
  return a;
}

/** Every stored file, by name. */
async function stored(fs: InMemoryFileSystem): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const name of fs.list('')) out.set(name, (await fs.read(name)) as Uint8Array);
  return out;
}

async function headerOf(fs: InMemoryFileSystem, path: string): Promise<Record<string, unknown>> {
  const bytes = await fs.read(path);
  if (!bytes) throw new Error(`no ${path}`);
  return readFile(path, bytes, path.endsWith('.snap') ? 'snapshot' : 'batch').header as unknown as Record<
    string,
    unknown
  >;
}

/** Every stored byte of the file system, as one latin1 string (to search for plaintext). */
async function allStored(fs: InMemoryFileSystem): Promise<string> {
  return [...(await stored(fs)).values()].map((b) => Buffer.from(b).toString('latin1')).join('\n');
}

describe('codec pipeline: compression', () => {
  const kinds = ['deflate', 'brotli', ...(zstdAvailable() ? ['zstd' as const] : [])] as const;
  for (const compression of kinds) {
    it(`round-trips batches and snapshots with ${compression}, says so in the header, and stores fewer bytes`, async () => {
      const plainFs = new InMemoryFileSystem();
      const fs = new InMemoryFileSystem();
      await saveSome(repoOn(plainFs, undefined, 2), 'a', 20);
      await saveSome(repoOn(fs, { compression }, 2), 'a', 20);
      const header = await headerOf(fs, batchPath('test-account', 'a', 1));
      expect(header.codec).toEqual([compression]);
      expect(header.evsrc).toBe(2);
      expect((await headerOf(fs, snapshotPath('test-account', 'a', 21))).codec).toEqual([compression]);
      const size = async (f: InMemoryFileSystem) => (await f.read(batchPath('test-account', 'a', 1)))?.byteLength ?? 0;
      expect(await size(fs)).toBeLessThan((await size(plainFs)) * 0.5);
      // A plain repository reads it: the header says how.
      const loaded = await repoOn(fs).get(TestAccount, 'a', { snapshots: false });
      expect(loaded.balance).toBe(200);
      expect(loaded.owner).toBe(SECRET);
      expect((await repoOn(fs, undefined, 2).get(TestAccount, 'a')).balance).toBe(200);
    });
  }

  it('writes plain files exactly as before (format version 1, no codec fields)', async () => {
    const fs = new InMemoryFileSystem();
    await saveSome(repoOn(fs), 'a');
    const header = await headerOf(fs, batchPath('test-account', 'a', 1));
    expect(header.evsrc).toBe(1);
    expect(Object.keys(header)).not.toContain('codec');
  });

  it('refuses zstd clearly when this Node has none, and reads it when it has', async () => {
    if (zstdAvailable()) {
      const fs = new InMemoryFileSystem();
      await saveSome(repoOn(fs, { compression: 'zstd' }), 'z');
      expect((await repoOn(fs).get(TestAccount, 'z')).balance).toBe(30);
      return;
    }
    expect(() => repoOn(new InMemoryFileSystem(), { compression: 'zstd' })).toThrow(/zstd compression needs Node/);
    const fs = new InMemoryFileSystem();
    const path = batchPath('test-account', 'z', 1);
    const fields = {
      kind: 'batch',
      parser: 'json',
      type: 'test-account',
      id: 'z',
      first: 1,
      last: 1,
      commit: 'c',
    } as const;
    await fs.create(path, writeFile({ ...fields, codec: ['zstd'] }, new Uint8Array([1, 2, 3])));
    const err = await errorOf(repoOn(fs).get(TestAccount, 'z'));
    expect(isEvsrcError(err, ErrorCode.UnsupportedFormat)).toBe(true);
    expect(String(err)).toMatch(/compressed with zstd.*Node 22\.15/);
  });

  it('refuses an unknown codec stage with a typed error', async () => {
    const fs = new InMemoryFileSystem();
    const fields = {
      kind: 'batch',
      parser: 'json',
      type: 'test-account',
      id: 'q',
      first: 1,
      last: 1,
      commit: 'c',
    } as const;
    await fs.create(batchPath('test-account', 'q', 1), writeFile({ ...fields, codec: ['lzma'] }, new Uint8Array([1])));
    const err = await errorOf(repoOn(fs).get(TestAccount, 'q'));
    expect(isEvsrcError(err, ErrorCode.UnsupportedFormat)).toBe(true);
    expect(String(err)).toMatch(/"lzma"/);
  });

  it('refuses a body that inflates beyond maxDecompressedBytes', async () => {
    const fs = new InMemoryFileSystem();
    await saveSome(repoOn(fs, { compression: 'deflate' }), 'big', 50);
    const small = new Repository({
      fileSystem: fs,
      aggregates: [testAccountType()],
      codec: { maxDecompressedBytes: 1000 },
    });
    // The header records the body's size: refused from it, before decompressing.
    const err = await errorOf(small.get(TestAccount, 'big'));
    expect(isEvsrcError(err, ErrorCode.FileTooLarge)).toBe(true);
    expect(String(err)).toMatch(
      /its body decompresses to \d+ bytes, over the limit of 1000 bytes \(codec\.maxDecompressedBytes\)/,
    );
  });

  it('refuses codec fields in a version-1 header (an old reader must never see them as plain)', async () => {
    const fs = new InMemoryFileSystem();
    await saveSome(repoOn(fs, { compression: 'deflate' }), 'v');
    const path = batchPath('test-account', 'v', 1);
    const text = Buffer.from((await fs.read(path)) as Uint8Array).toString('latin1');
    const { header, body } = readFile(path, (await fs.read(path)) as Uint8Array, 'batch');
    expect(text.startsWith('{"evsrc":2,')).toBe(true);
    // Re-sealed by hand as version 1: a well-formed checksum, but a malformed header.
    const line = JSON.stringify({ ...header, evsrc: 1, hcrc32: undefined }).slice(0, -1);
    const { crc32 } = await import('node:zlib');
    const head = `${line},"hcrc32":${crc32(Buffer.from(line))}}\n`;
    await fs.replace(path, Buffer.concat([Buffer.from(head), body]));
    const err = await errorOf(repoOn(fs).get(TestAccount, 'v'));
    expect(isEvsrcError(err, ErrorCode.CorruptFile)).toBe(true);
    expect(String(err)).toMatch(/malformed batch header/);
  });

  it('reads a store holding files written with different settings', async () => {
    const fs = new InMemoryFileSystem();
    const enc = { keys: { k1 }, currentKey: 'k1' };
    await saveSome(repoOn(fs), 'm', 1);
    await saveSome(repoOn(fs, { compression: 'deflate' }), 'm', 1);
    await saveSome(repoOn(fs, { encryption: enc }), 'm', 1);
    await saveSome(repoOn(fs, { compression: 'brotli', encryption: enc }), 'm', 1);
    const codecs = [];
    for (const v of [1, 3, 4, 5]) codecs.push((await headerOf(fs, batchPath('test-account', 'm', v))).codec);
    expect(codecs).toEqual([undefined, ['deflate'], ['aes-256-gcm'], ['brotli', 'aes-256-gcm']]);
    expect((await repoOn(fs, { encryption: enc }).get(TestAccount, 'm')).balance).toBe(40);
  });
});

describe('codec pipeline: encryption (AES-256-GCM)', () => {
  const enc = (currentKey = 'k1', keys: Record<string, Uint8Array> = { k1 }) => ({ encryption: { keys, currentKey } });

  it('stores no plaintext, names the key and IV in the header, and loads back', async () => {
    const fs = new InMemoryFileSystem();
    const repo = repoOn(fs, { compression: 'deflate', ...enc() }, 2);
    await saveSome(repo, 'a', 5);
    expect(await allStored(fs)).not.toContain(SECRET);
    expect(await allStored(fs)).not.toContain('Ada');
    const header = await headerOf(fs, batchPath('test-account', 'a', 1));
    expect(header).toMatchObject({ evsrc: 2, codec: ['deflate', 'aes-256-gcm'], key: 'k1' });
    expect(typeof header.iv).toBe('string');
    expect((await headerOf(fs, snapshotPath('test-account', 'a', 6))).key).toBe('k1');
    const loaded = await repoOn(fs, enc()).get(TestAccount, 'a');
    expect([loaded.owner, loaded.balance]).toEqual([SECRET, 50]);
  });

  it('detects a tampered ciphertext (with valid checksums) with EVSRC_TAMPERED', async () => {
    const fs = new InMemoryFileSystem();
    await saveSome(repoOn(fs, enc()), 'a');
    const path = batchPath('test-account', 'a', 1);
    const { header, body } = readFile(path, (await fs.read(path)) as Uint8Array, 'batch');
    const altered = Uint8Array.from(body);
    altered[5] = (altered[5] as number) ^ 1;
    await fs.replace(path, writeFile(header, altered)); // fresh crc32/hcrc32: only GCM can tell
    const err = await errorOf(repoOn(fs, enc()).get(TestAccount, 'a'));
    expect(isEvsrcError(err, ErrorCode.Tampered)).toBe(true);
    expect(String(err)).toContain(path);
  });

  it('binds the ciphertext to its place: a file re-headed for another aggregate fails authentication', async () => {
    const fs = new InMemoryFileSystem();
    await saveSome(repoOn(fs, enc()), 'a');
    const from = batchPath('test-account', 'a', 1);
    const { header, body } = readFile(from, (await fs.read(from)) as Uint8Array, 'batch');
    await fs.create(batchPath('test-account', 'b', 1), writeFile({ ...header, id: 'b' }, body));
    const err = await errorOf(repoOn(fs, enc()).get(TestAccount, 'b'));
    expect(isEvsrcError(err, ErrorCode.Tampered)).toBe(true);
  });

  it('gives EVSRC_TAMPERED for the wrong key under the right id, EVSRC_MISSING_KEY without it', async () => {
    const fs = new InMemoryFileSystem();
    await saveSome(repoOn(fs, enc()), 'a');
    const wrong = await errorOf(repoOn(fs, enc('k1', { k1: k2 })).get(TestAccount, 'a'));
    expect(isEvsrcError(wrong, ErrorCode.Tampered)).toBe(true);
    const missing = await errorOf(repoOn(fs, enc('k2', { k2 })).get(TestAccount, 'a'));
    expect(isEvsrcError(missing, ErrorCode.MissingKey)).toBe(true);
    expect(String(missing)).toMatch(/"k1"/);
    const none = await errorOf(repoOn(fs).get(TestAccount, 'a'));
    expect(isEvsrcError(none, ErrorCode.MissingKey)).toBe(true);
  });

  it('rotates keys: old files stay readable, new files use the new key', async () => {
    const fs = new InMemoryFileSystem();
    await saveSome(repoOn(fs, enc('k1')), 'a');
    const rotated = repoOn(fs, enc('k2', { k1, k2 }));
    await saveSome(rotated, 'a');
    expect((await headerOf(fs, batchPath('test-account', 'a', 1))).key).toBe('k1');
    expect((await headerOf(fs, batchPath('test-account', 'a', 5))).key).toBe('k2');
    expect((await rotated.get(TestAccount, 'a')).balance).toBe(60);
    // Dropping k1 from the keyring too early is a clear error, not garbage.
    const err = await errorOf(repoOn(fs, enc('k2', { k2 })).get(TestAccount, 'a'));
    expect(isEvsrcError(err, ErrorCode.MissingKey)).toBe(true);
  });

  it('refuses bad key configuration', () => {
    expect(() => repoOn(new InMemoryFileSystem(), enc('k1', { k1: new Uint8Array(16) }))).toThrow(/32 bytes/);
    expect(() => repoOn(new InMemoryFileSystem(), enc('k9', { k1 }))).toThrow(/not in the keyring/);
    expect(() => repoOn(new InMemoryFileSystem(), enc('@x', { '@x': k1 }))).toThrow(/must match/);
  });
});

describe('crypto-shredding: per-aggregate data keys', () => {
  const shred = (currentKey = 'k1', keys: Record<string, Uint8Array> = { k1 }) => ({
    encryption: { keys, currentKey, perAggregateKeys: true },
  });

  it('encrypts each aggregate with its own wrapped data key; forget() makes it unreadable for good', async () => {
    const fs = new InMemoryFileSystem();
    const repo = repoOn(fs, { compression: 'deflate', ...shred() }, 2);
    await saveSome(repo, 'a', 3);
    await saveSome(repo, 'b', 3);
    expect((await headerOf(fs, batchPath('test-account', 'a', 1))).key).toBe('@aggregate');
    expect((await stored(fs)).has(dataKeyPath('test-account', 'a'))).toBe(true);
    expect(await allStored(fs)).not.toContain(SECRET);

    await repo.forget(TestAccount, 'a');
    const warnings: unknown[] = [];
    const quiet = new Repository({
      fileSystem: fs,
      aggregates: [testAccountType(2)],
      codec: shred(),
      onError: (e) => warnings.push(e),
    });
    for (const r of [repo, repoOn(fs, shred(), 2), quiet]) {
      const err = await errorOf(r.get(TestAccount, 'a'));
      expect(isEvsrcError(err, ErrorCode.Forgotten)).toBe(true);
      expect(String(err)).toMatch(/forgotten/);
      expect((await r.get(TestAccount, 'b')).balance).toBe(30);
    }
    expect(warnings).toEqual([]); // a forgotten snapshot is not reported as a broken one
    // The files are still there, but nothing stored can reveal the personal data.
    expect((await stored(fs)).has(batchPath('test-account', 'a', 1))).toBe(true);
    expect(await allStored(fs)).not.toContain(SECRET);
    // A forgotten aggregate cannot be written again either.
    const again = new TestAccount('a');
    again.open('x');
    expect(isEvsrcError(await errorOf(repo.save(again)), ErrorCode.Forgotten)).toBe(true);
  });

  it('treats a deleted data key as forgotten too', async () => {
    const fs = new InMemoryFileSystem();
    await saveSome(repoOn(fs, shred()), 'a');
    await fs.delete(dataKeyPath('test-account', 'a'));
    const err = await errorOf(repoOn(fs, shred()).get(TestAccount, 'a'));
    expect(isEvsrcError(err, ErrorCode.Forgotten)).toBe(true);
  });

  it('keeps data keys readable across a master key rotation', async () => {
    const fs = new InMemoryFileSystem();
    await saveSome(repoOn(fs, shred('k1')), 'a');
    const rotated = repoOn(fs, shred('k2', { k1, k2 }));
    await saveSome(rotated, 'a');
    await saveSome(rotated, 'c');
    expect((await repoOn(fs, shred('k2', { k1, k2 })).get(TestAccount, 'a')).balance).toBe(60);
    const keyFile = async (id: string) =>
      JSON.parse(
        Buffer.from((await fs.read(dataKeyPath('test-account', id))) as Uint8Array)
          .toString('latin1')
          .split('\n')[0] as string,
      ).key;
    expect([await keyFile('a'), await keyFile('c')]).toEqual(['k1', 'k2']);
  });

  it('refuses forget() without per-aggregate keys', async () => {
    const err = await errorOf(
      repoOn(new InMemoryFileSystem(), { encryption: { keys: { k1 }, currentKey: 'k1' } }).forget(TestAccount, 'a'),
    );
    expect(isEvsrcError(err, ErrorCode.Configuration)).toBe(true);
  });

  it('gives both racing first writers the same data key', async () => {
    const fs = new InMemoryFileSystem();
    const [r1, r2] = [repoOn(fs, shred()), repoOn(fs, shred())];
    const a1 = new TestAccount('r');
    const a2 = new TestAccount('r');
    a1.open('one');
    a2.open('two');
    const results = await Promise.allSettled([r1.save(a1), r2.save(a2)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of [r1, r2]) expect((await r.get(TestAccount, 'r')).version).toBe(1);
  });
});
