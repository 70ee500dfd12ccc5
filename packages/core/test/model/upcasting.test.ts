import { mkdir, mkdtemp, readFile as readDiskFile, readdir, rm, writeFile as writeDiskFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Aggregate,
  aggregateType,
  ChangeEvent,
  ErrorCode,
  InMemoryFileSystem,
  isEvsrcError,
  Repository,
  readFile,
  upcastEvent,
  upcastSnapshot,
} from '@evsrc/core';
import { snapshotPath } from '@evsrc/core/internals';
import { describe, expect, it } from 'vitest';

/**
 * Stored fixture files written by an earlier schema (`test/fixtures/schema-v1/`), read by
 * the current one. `EVSRC_WRITE_FIXTURES=1 npx vitest run --project core upcasting` writes
 * them again with the old classes below (only needed if the old schema itself changes).
 */
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'schema-v1');
/** The fixture's encryption key: test data only. */
const FIXTURE_KEY = new Uint8Array(
  Buffer.from('6576737263206669787475726573206b657920666f7220746573747320303031', 'hex'),
);
const encryption = { keys: { fixture: FIXTURE_KEY }, currentKey: 'fixture' };

// ---- The old schema: balance in euros, deposits without a currency. ----
class AccountV1 extends Aggregate {
  static readonly type = 'account';
  owner = '';
  balance = 0;
}
class OpenedV1 extends ChangeEvent<AccountV1> {
  static readonly type = 'opened';
  constructor(readonly owner: string) {
    super();
  }
  applyOn(a: AccountV1) {
    a.owner = this.owner;
  }
}
class DepositedV1 extends ChangeEvent<AccountV1> {
  static readonly type = 'deposited';
  constructor(readonly amount: number) {
    super();
  }
  applyOn(a: AccountV1) {
    a.balance += this.amount;
  }
}
/** Version 2 added the currency. */
class DepositedV2 extends ChangeEvent<AccountV1> {
  static readonly type = 'deposited';
  static readonly version = 2;
  constructor(
    readonly amount: number,
    readonly currency: string,
  ) {
    super();
  }
  applyOn(a: AccountV1) {
    a.balance += this.amount;
  }
}

// ---- The current schema: cents and a currency; the snapshot changed shape too. ----
class Account extends Aggregate {
  static readonly type = 'account';
  static readonly snapshotVersion = 2;
  owner = '';
  cents = 0;
  currencies: string[] = [];
}
class Opened extends ChangeEvent<Account> {
  static readonly type = 'opened';
  constructor(readonly owner: string) {
    super();
  }
  applyOn(a: Account) {
    a.owner = this.owner;
  }
}
class Deposited extends ChangeEvent<Account> {
  static readonly type = 'deposited';
  static readonly version = 3;
  constructor(
    readonly cents: number,
    readonly currency: string,
  ) {
    super();
  }
  applyOn(a: Account) {
    a.cents += this.cents;
    if (!a.currencies.includes(this.currency)) a.currencies.push(this.currency);
  }
}

const v1to2 = upcastEvent('deposited', 1, (p) => ({ ...p, currency: 'EUR' }));
const v2to3 = upcastEvent('deposited', 2, ({ amount, ...rest }) => ({
  ...rest,
  cents: Math.round(Number(amount) * 100),
}));

async function loadFixtures(): Promise<InMemoryFileSystem> {
  const fs = new InMemoryFileSystem();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else await fs.create(relative(FIXTURES, full), new Uint8Array(await readDiskFile(full)));
    }
  };
  await walk(FIXTURES);
  return fs;
}

const current = (options: { upcasters?: boolean; snapshotUpcaster?: () => void } = {}) =>
  aggregateType(Account, {
    events: [Opened, Deposited],
    upcasters: options.upcasters === false ? [v2to3] : [v1to2, v2to3],
    ...(options.snapshotUpcaster
      ? {
          snapshotUpcasters: [
            upcastSnapshot(1, (state) => {
              options.snapshotUpcaster?.();
              const { owner, balance } = state as { owner: string; balance: number };
              return { owner, cents: Math.round(balance * 100), currencies: ['EUR'] };
            }),
          ],
        }
      : {}),
  });

describe('upcasting: files written by an earlier schema', () => {
  // Always runs: writes the old schema's files to a temporary folder (or over the committed
  // fixtures with EVSRC_WRITE_FIXTURES=1) and checks they have the fixtures' layout.
  it('writes files with the old schema in the layout of the committed fixtures', async () => {
    const rewrite = process.env.EVSRC_WRITE_FIXTURES === '1';
    const target = rewrite ? FIXTURES : await mkdtemp(join(tmpdir(), 'evsrc-fixtures-'));
    const fs = new InMemoryFileSystem();
    const clock = () => 1_795_341_600_000;
    const old = (format: 'json' | 'msgpack', codec?: object) =>
      new Repository({
        fileSystem: fs,
        clock,
        format,
        ...(codec ? { codec } : {}),
        // The code of that time knew one version of "deposited": v1, later v2.
        aggregates: [
          aggregateType(AccountV1, { events: [OpenedV1, codec ? DepositedV2 : DepositedV1], snapshots: { every: 2 } }),
        ],
      });
    const a = new AccountV1('a-1');
    const raise = (r: Repository, acc: AccountV1, e: ChangeEvent) => {
      (acc as unknown as { raise(e: ChangeEvent): void }).raise(e);
      return r.save(acc);
    };
    await raise(old('json'), a, new OpenedV1('Ann'));
    await raise(old('json'), a, new DepositedV1(1.5)); // v2: snapshot (schema 1) at version 2
    await raise(old('msgpack'), a, new DepositedV1(2.25));
    await raise(old('json', { compression: 'deflate', encryption }), a, new DepositedV2(10, 'USD'));
    const written: string[] = [];
    for await (const name of fs.list('')) {
      const file = join(target, name);
      await mkdir(dirname(file), { recursive: true });
      await writeDiskFile(file, (await fs.read(name)) as Uint8Array);
      written.push(name);
    }
    const committed: string[] = [];
    for await (const name of (await loadFixtures()).list('')) committed.push(name);
    expect(written).toEqual(committed);
    if (!rewrite) await rm(target, { recursive: true, force: true });
  });

  it('upcasts v1 and v2 events through the chain to v3, and ignores the v1 snapshot without an upcaster', async () => {
    const fs = await loadFixtures();
    const snapshot = await fs.read(snapshotPath('account', 'a-1', 2));
    expect(snapshot && readFile('s', snapshot, 'snapshot').header.schema).toBeUndefined(); // schema 1
    const repo = new Repository({ fileSystem: fs, aggregates: [current()], codec: { encryption } });
    const a = await repo.get(Account, 'a-1');
    expect(a.version).toBe(4);
    expect(a.owner).toBe('Ann');
    expect(a.cents).toBe(150 + 225 + 1000);
    expect(a.currencies).toEqual(['EUR', 'USD']);
    const events = [];
    for await (const r of repo.events(Account, 'a-1', { fromVersion: 2 })) events.push(r.event);
    expect(events).toEqual([new Deposited(150, 'EUR'), new Deposited(225, 'EUR'), new Deposited(1000, 'USD')]);
    expect(events.every((e) => e instanceof Deposited)).toBe(true);
  });

  it('upcasts the old snapshot when a snapshot upcaster is registered', async () => {
    const fs = await loadFixtures();
    let used = 0;
    const repo = new Repository({
      fileSystem: fs,
      aggregates: [current({ snapshotUpcaster: () => used++ })],
      codec: { encryption },
    });
    const a = await repo.get(Account, 'a-1');
    // The newest snapshot (version 4, encrypted, schema 1) was upcast: its upcaster knows only
    // euros, where a replay of the events would have found ['EUR', 'USD'].
    expect(used).toBe(1);
    expect([a.version, a.cents, a.currencies]).toEqual([4, 1375, ['EUR']]);
  });

  it('refuses an event version no upcaster chain leads from, with EVSRC_UPCAST', async () => {
    const fs = await loadFixtures();
    const repo = new Repository({ fileSystem: fs, aggregates: [current({ upcasters: false })], codec: { encryption } });
    const err = await repo.get(Account, 'a-1').catch((e: unknown) => e);
    expect(isEvsrcError(err, ErrorCode.Upcast)).toBe(true);
    expect(String(err)).toMatch(/version 1 as version 3.*no upcaster/);
  });

  it('refuses events written by newer code', async () => {
    const fs = await loadFixtures();
    const repo = new Repository({
      fileSystem: fs,
      aggregates: [aggregateType(AccountV1, { events: [OpenedV1, DepositedV1] })],
      codec: { encryption },
    });
    const err = await repo.get(AccountV1, 'a-1', { snapshots: false }).catch((e: unknown) => e);
    expect(isEvsrcError(err, ErrorCode.Upcast)).toBe(true);
    expect(String(err)).toMatch(/newer code/);
  });

  it('stores the current version with new events and snapshots, and reads them back as they are', async () => {
    const fs = await loadFixtures();
    const repo = new Repository({
      fileSystem: fs,
      aggregates: [{ ...current(), snapshots: { every: 5 } }],
      codec: { encryption },
    });
    const a = await repo.get(Account, 'a-1');
    (a as unknown as { raise(e: ChangeEvent): void }).raise(new Deposited(5, 'EUR'));
    await repo.save(a);
    const snap = (await fs.read(snapshotPath('account', 'a-1', 5))) as Uint8Array;
    expect(readFile('s', snap, 'snapshot').header.schema).toBe(2);
    const again = await new Repository({ fileSystem: fs, aggregates: [current()], codec: { encryption } }).get(
      Account,
      'a-1',
    );
    expect(again.cents).toBe(1380);
  });

  it('refuses two upcasters from the same version, and upcasters of unknown types', () => {
    const fs = new InMemoryFileSystem();
    const make = (upcasters: ReturnType<typeof upcastEvent>[]) =>
      new Repository({
        fileSystem: fs,
        aggregates: [aggregateType(Account, { events: [Opened, Deposited], upcasters })],
      });
    expect(() => make([v1to2, v1to2])).toThrow(/Two upcasters/);
    expect(() => make([upcastEvent('nope', 1, (p) => p)])).toThrow(/not registered/);
  });
});
