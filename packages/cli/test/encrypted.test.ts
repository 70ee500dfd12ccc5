import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Repository, readFile as readEvsrcFile } from '@evsrc/core';
import { batchPath, writeFile as writeEvsrcFile } from '@evsrc/core/internals';
import { LocalFileSystem } from '@evsrc/fs-local';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BankAccount, bankAccounts } from '../../../examples/bank/src/bank-account.js';
import { AGGREGATES_MODULE, evsrc, tempDir } from './helpers.js';

let dir: string;
let keysFile: string;
let remove: () => Promise<void>;
const k1 = new Uint8Array(randomBytes(32));
const encryption = { keys: { k1 }, currentKey: 'k1', perAggregateKeys: true };
const at = (p: string) => join(dir, ...p.split('/'));

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
  const fileSystem = new LocalFileSystem({ root: join(dir, 'store'), durable: false });
  const repository = new Repository({
    fileSystem,
    aggregates: [{ ...bankAccounts, snapshots: { every: 10 } }],
    codec: { compression: 'deflate', encryption },
  });
  for (let a = 0; a < 3; a++) {
    const account = BankAccount.open(`acc-${a}`, `Owner ${a}`, 100);
    for (let s = 0; s < 6; s++) account.deposit(10 + s);
    await repository.save(account);
    for (let s = 0; s < 4; s++) account.deposit(1);
    await repository.save(account); // version 11: a snapshot at 11
  }
  await repository.forget(BankAccount, 'acc-2');
  keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify({ currentKey: 'k1', keys: { k1: Buffer.from(k1).toString('base64') } }));
});
afterEach(() => remove());

describe('evsrc verify on an encrypted store', () => {
  it('without keys: checks checksums and versions, and says how many files it could not decrypt', async () => {
    const result = await evsrc(['verify', join(dir, 'store')]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/9 encrypted files were checked only up to their checksums.*--keys/);
    expect(result.stderr).toContain('verified 3 aggregates, 9 files: 0 problems');
    expect(result.code).toBe(0);
  });

  it('with keys: decrypts, compares snapshots with a replay; a forgotten aggregate stays sealed', async () => {
    const result = await evsrc([
      'verify',
      join(dir, 'store'),
      '--keys',
      keysFile,
      '--snapshots',
      'full',
      '--aggregates',
      AGGREGATES_MODULE,
    ]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/3 encrypted files were checked only up to their checksums.*forgotten/);
    expect(result.code).toBe(0);
  });

  it('finds a tampered ciphertext whose checksums were recomputed, and a flipped byte', async () => {
    const path = `store/${batchPath('bank-account', 'acc-0', 1)}`;
    const { header, body } = readEvsrcFile(path, new Uint8Array(await readFile(at(path))), 'batch');
    const altered = Uint8Array.from(body);
    altered[3] = (altered[3] as number) ^ 0xff;
    await writeFile(at(path), writeEvsrcFile(header, altered));
    const flipped = `store/${batchPath('bank-account', 'acc-1', 1)}`;
    const bytes = await readFile(at(flipped));
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ 1;
    await writeFile(at(flipped), bytes);
    const withKeys = await evsrc(['verify', join(dir, 'store'), '--keys', keysFile]);
    expect(withKeys.stdout).toMatch(/acc-0\/events\/000000000001\.batch: Tampered file/);
    expect(withKeys.stdout).toMatch(/acc-1\/events\/000000000001\.batch: .*checksum mismatch/);
    expect(withKeys.code).toBe(1);
    // Without keys the checksum damage is still found; the re-sealed tampering cannot be.
    const withoutKeys = await evsrc(['verify', join(dir, 'store')]);
    expect(withoutKeys.stdout).toMatch(/acc-1\/events\/000000000001\.batch: .*checksum mismatch/);
    expect(withoutKeys.code).toBe(1);
  });

  it('show decrypts with --keys, and says which key is missing without', async () => {
    const shown = await evsrc(['show', join(dir, 'store'), 'bank-account', 'acc-1', '--keys', keysFile, '--json']);
    expect(shown.code).toBe(0);
    const events = shown.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toHaveLength(11);
    expect(events[0]).toMatchObject({ type: 'account-opened', payload: { owner: 'Owner 1' } });
    const sealed = await evsrc(['show', join(dir, 'store'), 'bank-account', 'acc-1']);
    expect(sealed.code).toBe(2);
    expect(sealed.stderr).toMatch(/"@aggregate", which was not given/);
    const forgotten = await evsrc(['show', join(dir, 'store'), 'bank-account', 'acc-2', '--keys', keysFile]);
    expect(forgotten.code).toBe(1);
    expect(forgotten.stderr).toMatch(/was forgotten/);
  });

  it('refuses a bad key file as configuration', async () => {
    await writeFile(keysFile, JSON.stringify({ keys: { k1: 'c2hvcnQ=' } }));
    const result = await evsrc(['verify', join(dir, 'store'), '--keys', keysFile]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/32 bytes/);
  });
});
