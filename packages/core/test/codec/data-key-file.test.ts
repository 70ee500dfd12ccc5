import { aggregateType, ErrorCode, InMemoryFileSystem, isEvsrcError, Repository } from '@evsrc/core';
import { DataKeys, dataKeyPath, Keyring } from '@evsrc/core/internals';
import { TestAccount, TestDeposited, TestOpened } from '@evsrc/core/testing';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../support/harness.js';

/** The sample account under the type name of the stored key file below ("account"). */
class Account extends TestAccount {
  static override readonly type = 'account';
}
const accountType = () => aggregateType(Account, { events: [TestOpened, TestDeposited] });

/** The master key the fixtures were wrapped with: bytes 1, 2, …, 32. */
const MASTER = new Uint8Array(32).map((_, i) => i + 1);
const keyring = () => new Keyring({ keys: { m1: MASTER }, currentKey: 'm1' });
const PATH = dataKeyPath('account', 'a-1');

/**
 * A data key file of account a-1 in the first format (one line of JSON, no checksum),
 * byte for byte as evsrc wrote it before data key files were sealed, and the key it holds.
 */
const OLD_KEY_FILE =
  '{"evsrc":1,"kind":"data-key","type":"account","id":"a-1","key":"m1","iv":"gsOgIjwFnUqid5ur",' +
  '"wrapped":"PgutALKKCGmiznymRkXxcTGBDl2h8IX4k8+TY2FX4UmC7sPZSdXbdJZfvCWY1D+i"}\n';
const OLD_KEY = 'a060891de679d03bcadc4cef04e26771d43c394b22b4c7449fcdd05dc5f9f575';
/** The tombstone `forget` wrote in the first format. */
const OLD_TOMBSTONE = '{"evsrc":1,"kind":"data-key","type":"account","id":"a-1","forgotten":true}\n';

const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));
const hex = (key: Uint8Array) => Buffer.from(key).toString('hex');

/** A store holding only `bytes` as the data key file of account a-1, and fresh (uncached) data keys on it. */
async function storeWith(bytes: Uint8Array) {
  const fs = new InMemoryFileSystem();
  await fs.create(PATH, bytes);
  return { fs, keys: new DataKeys(fs, keyring()) };
}

/** A data key file (or tombstone) written by this version. */
async function written(forget = false) {
  const fs = new InMemoryFileSystem();
  const keys = new DataKeys(fs, keyring());
  const key = await keys.forWrite('account', 'a-1');
  if (forget) await keys.forget('account', 'a-1');
  return { key, bytes: (await fs.read(PATH)) as Uint8Array };
}

/** What reading the data key of a-1 from `bytes` gives, for reading and for writing. */
async function outcomes(bytes: Uint8Array): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const use of ['forRead', 'forWrite'] as const) {
    const { keys } = await storeWith(bytes);
    out.push(await keys[use]('account', 'a-1').then(hex, (e: unknown) => e));
  }
  return out;
}

const isCorrupt = (e: unknown) => isEvsrcError(e, ErrorCode.CorruptFile) && String(e).includes(PATH);

describe('data key files written before they carried checksums', () => {
  it('still read back the key they hold', async () => {
    expect(await outcomes(bytesOf(OLD_KEY_FILE))).toEqual([OLD_KEY, OLD_KEY]);
  });

  it('keep a forgotten aggregate forgotten', async () => {
    for (const e of await outcomes(bytesOf(OLD_TOMBSTONE))) expect(isEvsrcError(e, ErrorCode.Forgotten)).toBe(true);
  });

  it('still serve a repository: save, load and forget', async () => {
    const { fs } = await storeWith(bytesOf(OLD_KEY_FILE));
    const codec = { encryption: { keys: { m1: MASTER }, currentKey: 'm1', perAggregateKeys: true } };
    const repo = () => new Repository({ fileSystem: fs, aggregates: [accountType()], codec });
    const a = new Account('a-1');
    a.open('Ada');
    a.deposit(5);
    await repo().save(a);
    expect((await repo().get(Account, 'a-1')).balance).toBe(5);
    expect(await fs.read(PATH)).toEqual(bytesOf(OLD_KEY_FILE)); // the old key was used, not replaced
    await repo().forget(Account, 'a-1');
    expect(isEvsrcError(await errorOf(repo().get(Account, 'a-1')), ErrorCode.Forgotten)).toBe(true);
  });
});

describe('data key files', () => {
  it('have a sealed header line and a checksummed body, and read back', async () => {
    const { key, bytes } = await written();
    const text = Buffer.from(bytes).toString('latin1');
    const line = text.slice(0, text.indexOf('\n'));
    expect(line).toMatch(/^\{"evsrc":2,"kind":"data-key","type":"account","id":"a-1",.*,"crc32":\d+,"hcrc32":\d+\}$/);
    expect(await outcomes(bytes)).toEqual([hex(key), hex(key)]);
  });

  it('catch every flipped bit as a corrupt file, never a wrong key', async () => {
    const { bytes } = await written();
    for (let bit = 0; bit < bytes.byteLength * 8; bit++) {
      const flipped = bytes.slice();
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
      for (const e of await outcomes(flipped)) expect(isCorrupt(e), `bit ${bit}: ${String(e)}`).toBe(true);
    }
  });

  it('catch a truncated file as a corrupt file', async () => {
    const { bytes } = await written();
    for (let length = 0; length < bytes.byteLength; length++) {
      for (const e of await outcomes(bytes.subarray(0, length))) {
        expect(isCorrupt(e), `${length} bytes: ${String(e)}`).toBe(true);
      }
    }
  });

  it('keep a forgotten aggregate forgotten, and catch every flipped bit of the tombstone', async () => {
    const { bytes } = await written(true);
    expect(Buffer.from(bytes).toString('latin1')).toMatch(
      /^\{"evsrc":2,"kind":"data-key",.*"forgotten":true,.*"hcrc32"/,
    );
    for (const e of await outcomes(bytes)) expect(isEvsrcError(e, ErrorCode.Forgotten)).toBe(true);
    for (let bit = 0; bit < bytes.byteLength * 8; bit++) {
      const flipped = bytes.slice();
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
      for (const e of await outcomes(flipped)) expect(isCorrupt(e), `bit ${bit}: ${String(e)}`).toBe(true);
    }
  });
});

describe('telling the formats apart', () => {
  it('refuses a sealed file whose version was damaged to 1 instead of reading it unchecked', async () => {
    const { bytes } = await written(true);
    const damaged = bytesOf(Buffer.from(bytes).toString('latin1').replace('{"evsrc":2,', '{"evsrc":1,'));
    for (const e of await outcomes(damaged)) expect(isCorrupt(e), String(e)).toBe(true);
  });
});
