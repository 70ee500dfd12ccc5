// Over 300 lines: one contract suite sharing its fixtures; split, each part would repeat the setup.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ConcurrencyError, ErrorCode, isEvsrcError } from '../errors.js';
import { batchPath, decodeSegment, encodeSegment, snapshotPath } from '../format/layout.js';
import type { EventRecord } from '../model/event-record.js';
import { type AggregateRegistration, aggregateType } from '../repository/aggregate-type.js';
import type { RepositoryOptions } from '../repository/options.js';
import { Repository } from '../repository/repository.js';
import type { FileSystem } from '../storage/file-system.js';
import { hostileIds, isUnstorableId } from './hostile-ids.js';
import { TestAccount, TestDeposited, TestOpened, testAccountType } from './sample-domain.js';

/** How {@link describeRepositoryContract} gets file systems to test. */
export interface RepositoryContractOptions {
  /** Returns an empty file system for one test (fresh folder or key prefix). */
  create(): FileSystem | Promise<FileSystem>;
  /** Optional: a second, independent client onto the same store, for the cross-client race. */
  secondClient?(fs: FileSystem): FileSystem | Promise<FileSystem>;
  /** Called after each test for every file system it created (default: `close()`). */
  dispose?(fs: FileSystem): Promise<void>;
  /** Rounds of the two-writer race (default 50). */
  raceRounds?: number;
  /** Per-test timeout in ms (default 60,000). */
  timeout?: number;
  /**
   * The generated-ids property: `runs` fast-check runs of up to `idsPerRun` distinct ids
   * each, all saved, listed and read back (default 4 × 25 = 100 ids).
   */
  hostileIds?: { readonly runs?: number; readonly idsPerRun?: number };
}

/** The test account under another type name, so that each property run has its own folder. */
function accountTypeNamed(type: string): { aggregate: typeof TestAccount; registration: AggregateRegistration } {
  const aggregate = class extends TestAccount {
    static override readonly type = type;
  };
  return { aggregate, registration: aggregateType(aggregate, { events: [TestOpened, TestDeposited] }) };
}

/** Runs `work` on every item, `width` at a time. */
async function inChunks<T>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<void>) {
  for (let i = 0; i < items.length; i += width) {
    await Promise.all(items.slice(i, i + width).map((item, j) => work(item, i + j)));
  }
}

async function names(fs: FileSystem, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const n of fs.list(prefix)) out.push(n);
  return out;
}

/**
 * Defines the repository integration suite over a `FileSystem` under vitest: save and
 * load, concurrency conflicts, a race between two independent clients, snapshots, time
 * travel, idempotent retries, hostile ids and the codec pipeline (compression, encryption,
 * key rotation, crypto-shredding) — all against the real store.
 */
export function describeRepositoryContract(name: string, options: RepositoryContractOptions): void {
  const timeout = options.timeout ?? 60_000;
  const opened: FileSystem[] = [];
  const open = async (): Promise<FileSystem> => {
    const fs = await options.create();
    opened.push(fs);
    return fs;
  };
  const repo = (fileSystem: FileSystem, extra: Partial<RepositoryOptions> = {}) =>
    new Repository({ fileSystem, aggregates: [testAccountType()], onError: () => undefined, ...extra });

  describe(`Repository on ${name}`, { timeout }, () => {
    afterEach(async () => {
      for (const fs of opened.splice(0).reverse()) {
        if (options.dispose) await options.dispose(fs);
        else await fs.close?.();
      }
    });

    it('saves pending events as one batch file named by its first version, and loads them back', async () => {
      const fs = await open();
      const r = repo(fs);
      const a = new TestAccount('acc-1');
      a.open('Ada');
      a.deposit(10);
      const records = await r.save(a);
      expect(records.map((x) => [x.version, x.type])).toEqual([
        [1, 'opened'],
        [2, 'deposited'],
      ]);
      expect(a.pendingEvents).toHaveLength(0);
      a.deposit(5);
      await r.save(a);
      expect(await names(fs, 'test-account/')).toEqual([
        batchPath('test-account', 'acc-1', 1),
        batchPath('test-account', 'acc-1', 3),
      ]);
      const b = await r.get(TestAccount, 'acc-1');
      expect([b.owner, b.balance, b.version, b.storedVersion]).toEqual(['Ada', 15, 3, 3]);
      await expect(r.get(TestAccount, 'nobody')).rejects.toSatisfy((e) => isEvsrcError(e, ErrorCode.AggregateNotFound));
    });

    it('lets only one of two writers from the same version win; the loser keeps its events and can retry', async () => {
      const fs = await open();
      const r = repo(fs);
      const a = new TestAccount('acc-2');
      a.open('Bo');
      await r.save(a);
      const x = await r.get(TestAccount, 'acc-2');
      const y = await r.get(TestAccount, 'acc-2');
      x.deposit(1, 'x');
      y.deposit(2, 'y');
      await r.save(x);
      const err = await r.save(y).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConcurrencyError);
      expect(err).toMatchObject({
        code: ErrorCode.Concurrency,
        expectedVersion: 1,
        actualVersion: 2,
        aggregateId: 'acc-2',
      });
      expect(y.pendingEvents).toHaveLength(1);
      const z = await r.execute(TestAccount, 'acc-2', (acc) => acc.deposit(2, 'y'));
      expect(z.version).toBe(3);
      expect((await r.get(TestAccount, 'acc-2')).log).toEqual(['x', 'y']);
    });

    it('races two independent clients from the same version: one winner per round, a contiguous stream', async () => {
      const fs1 = await open();
      const fs2 = options.secondClient ? await options.secondClient(fs1) : fs1;
      if (fs2 !== fs1) opened.push(fs2);
      const r1 = repo(fs1);
      const r2 = repo(fs2);
      const start = new TestAccount('race');
      start.open('both');
      await r1.save(start);
      const rounds = options.raceRounds ?? 50;
      const winners: string[] = [];
      for (let round = 0; round < rounds; round++) {
        const [a, b] = await Promise.all([r1.get(TestAccount, 'race'), r2.get(TestAccount, 'race')]);
        a.deposit(1, `r${round}-a`);
        b.deposit(1, `r${round}-b`);
        const results = await Promise.allSettled([r1.save(a), r2.save(b)]);
        const ok = results.flatMap((res, i) => (res.status === 'fulfilled' ? [i === 0 ? 'a' : 'b'] : []));
        expect(ok, `round ${round}`).toHaveLength(1);
        const lost = results.find((res) => res.status === 'rejected') as PromiseRejectedResult;
        expect(isEvsrcError(lost.reason, ErrorCode.Concurrency), String(lost.reason)).toBe(true);
        winners.push(`r${round}-${ok[0]}`);
      }
      const events: EventRecord[] = [];
      for await (const e of r2.events(TestAccount, 'race')) events.push(e);
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: rounds + 1 }, (_, i) => i + 1));
      expect(events.slice(1).map((e) => (e.event as TestDeposited).note)).toEqual(winners);
      expect((await r1.get(TestAccount, 'race')).balance).toBe(rounds);
    });

    it('never saves past a hole: a batch deleted behind a live writer stops its next save (guarantee 6)', async () => {
      const fs = await open();
      const r = repo(fs);
      const a = new TestAccount('hole');
      a.open('Ann');
      await r.save(a);
      a.deposit(1);
      a.deposit(2);
      await r.save(a); // batch 2–3
      // The store loses the last batch (a restart that dropped the last second, a deleted file).
      await fs.delete(batchPath('test-account', 'hole', 2));
      a.deposit(3);
      const error = await r.save(a).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isEvsrcError(error, ErrorCode.StreamIntegrity), String(error)).toBe(true);
      expect(error).toMatchObject({ kind: 'lost', path: batchPath('test-account', 'hole', 2) });
      // Nothing was written past the hole, and the raised event is still pending.
      expect(await names(fs, 'test-account/hole/events/')).toEqual([batchPath('test-account', 'hole', 1)]);
      expect(a.pendingEvents).toHaveLength(1);
      // A writer holding only the first version, whose batch is gone too, is stopped as well.
      const b = await r.get(TestAccount, 'hole');
      await fs.delete(batchPath('test-account', 'hole', 1));
      b.deposit(4);
      await expect(r.save(b)).rejects.toMatchObject({ code: ErrorCode.StreamIntegrity, kind: 'lost' });
      expect(await names(fs, 'test-account/hole/events/')).toEqual([]);
    });

    it('writes snapshots by policy and loads from the newest one', async () => {
      const fs = await open();
      const r = repo(fs, { aggregates: [testAccountType(3)] });
      const a = new TestAccount('snap');
      a.open('Cy');
      for (let i = 1; i <= 7; i++) {
        a.deposit(i);
        await r.save(a);
      }
      expect(await names(fs, 'test-account/snap/snapshots/')).toEqual([
        snapshotPath('test-account', 'snap', 3),
        snapshotPath('test-account', 'snap', 6),
      ]);
      // The events before the newest snapshot are not needed: remove them to prove it. The
      // batch the snapshot ends (version 6) stays: a load checks that it exists and ends there.
      for (let v = 1; v <= 5; v++) await fs.delete(batchPath('test-account', 'snap', v));
      const b = await r.get(TestAccount, 'snap');
      expect([b.owner, b.balance, b.version]).toEqual(['Cy', 28, 8]);
      // Without snapshots the load needs the deleted events, and says so.
      await expect(r.get(TestAccount, 'snap', { snapshots: false })).rejects.toSatisfy((e) =>
        isEvsrcError(e, ErrorCode.StreamIntegrity),
      );
    });

    it('stores through the codec pipeline (compression + encryption), rotates keys and forgets an aggregate', async () => {
      const fs = await open();
      const [k1, k2] = [new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(32))];
      const secret = 'Grace-Hopper-personal-data';
      const codec = (currentKey: string) =>
        ({
          compression: 'deflate',
          encryption: { keys: { k1, k2 }, currentKey, perAggregateKeys: true },
        }) as const;
      const r1 = repo(fs, { codec: codec('k1'), aggregates: [testAccountType(2)] });
      for (const id of ['gdpr-1', 'gdpr-2']) {
        const a = new TestAccount(id);
        a.open(secret);
        a.deposit(7, secret);
        await r1.save(a);
      }
      // Rotation: a new master key for new data keys; the old one stays readable.
      const r2 = repo(fs, { codec: codec('k2'), aggregates: [testAccountType(2)] });
      await r2.execute(TestAccount, 'gdpr-1', (a) => a.deposit(3, secret));
      const loaded = await r2.get(TestAccount, 'gdpr-1', { snapshots: false });
      expect([loaded.owner, loaded.balance, loaded.version]).toEqual([secret, 10, 3]);
      expect((await r2.get(TestAccount, 'gdpr-1')).balance).toBe(10);
      const stored: string[] = [];
      for await (const name of fs.list('test-account/')) {
        stored.push(Buffer.from((await fs.read(name)) as Uint8Array).toString('latin1'));
      }
      expect(stored.length).toBeGreaterThanOrEqual(5); // 3 batches, a snapshot, 2 key files
      expect(stored.join('\n')).not.toContain('Grace');
      expect(stored.join('\n')).toContain('"codec":["deflate","aes-256-gcm"]');
      // Crypto-shredding: gdpr-1 is gone for good; gdpr-2 is untouched.
      await r2.forget(TestAccount, 'gdpr-1');
      const fresh = repo(fs, { codec: codec('k2') });
      await expect(fresh.get(TestAccount, 'gdpr-1')).rejects.toSatisfy((e) => isEvsrcError(e, ErrorCode.Forgotten));
      expect((await fresh.get(TestAccount, 'gdpr-2')).owner).toBe(secret);
      // Without the keys, the files are refused clearly rather than misread.
      await expect(repo(fs).get(TestAccount, 'gdpr-2')).rejects.toSatisfy((e) => isEvsrcError(e, ErrorCode.MissingKey));
    });

    it('travels in time by version and by timestamp', async () => {
      const fs = await open();
      let now = 1_000;
      const r = repo(fs, { clock: () => now });
      const a = new TestAccount('tt');
      a.open('Di');
      await r.save(a); // v1 @1000
      now = 2_000;
      a.deposit(5);
      a.deposit(6);
      await r.save(a); // v2,v3 @2000
      now = 3_000;
      a.deposit(7);
      await r.save(a); // v4 @3000
      expect((await r.get(TestAccount, 'tt', { version: 2 })).balance).toBe(5);
      expect((await r.get(TestAccount, 'tt', { version: 4 })).balance).toBe(18);
      expect((await r.get(TestAccount, 'tt', { timestamp: 2_000 })).balance).toBe(11);
      expect((await r.get(TestAccount, 'tt', { timestamp: 2_999 })).version).toBe(3);
      expect((await r.get(TestAccount, 'tt', { timestamp: new Date(5_000) })).version).toBe(4);
      await expect(r.get(TestAccount, 'tt', { timestamp: 999 })).rejects.toSatisfy((e) =>
        isEvsrcError(e, ErrorCode.AggregateNotFound),
      );
      await expect(r.get(TestAccount, 'tt', { version: 9 })).rejects.toSatisfy((e) =>
        isEvsrcError(e, ErrorCode.AggregateNotFound),
      );
    });

    it('keeps ids inside their folder and never lets two ids share files', async () => {
      const fs = await open();
      const r = repo(fs);
      const ids = [
        '../x',
        '..',
        '.',
        'a/b',
        '/abs',
        'back\\slash',
        '%2e%2e',
        'A',
        'a',
        'caf\u00e9',
        'cafe\u0301',
        ' ',
        '😀',
        'nul\0',
        'CON',
      ];
      for (const [i, id] of ids.entries()) {
        const acc = new TestAccount(id);
        acc.open(`owner ${i}`);
        await r.save(acc);
      }
      const stored = await names(fs, '');
      expect(stored).toHaveLength(ids.length);
      for (const n of stored) expect(n.startsWith('test-account/')).toBe(true);
      for (const [i, id] of ids.entries()) expect((await r.get(TestAccount, id)).owner).toBe(`owner ${i}`);
      for (const bad of ['', 'lone \ud800', 'x'.repeat(10_000)]) {
        const acc = new TestAccount(bad);
        acc.open('bad');
        await expect(r.save(acc)).rejects.toSatisfy((e) => isEvsrcError(e, ErrorCode.InvalidId));
      }
    });

    it('never lets two of 100 generated hostile ids share files, nor any leave its folder (fast-check)', async () => {
      const fs = await open();
      const { runs = 4, idsPerRun = 25 } = options.hostileIds ?? {};
      let run = 0;
      await fc.assert(
        fc.asyncProperty(hostileIds(idsPerRun), async (ids) => {
          const type = `hostile-ids-${++run}`;
          const { aggregate: Named, registration } = accountTypeNamed(type);
          const r = repo(fs, { aggregates: [registration] });
          const stored: string[] = [];
          await inChunks(ids, 10, async (id, i) => {
            const acc = new Named(id);
            acc.open(`#${i}`);
            const error = await r.save(acc).then(
              () => undefined,
              (e: unknown) => e,
            );
            // Refused only for a clear reason (empty, lone surrogate, too long), with a typed error.
            expect(error !== undefined, `${error ? 'refused' : 'stored'} ${JSON.stringify(id)}: ${error}`).toBe(
              isUnstorableId(id),
            );
            if (error === undefined) stored.push(id);
            else expect(isEvsrcError(error, ErrorCode.InvalidId), String(error)).toBe(true);
          });
          // One batch file per stored id, each in its own folder inside the type's folder.
          const folder = encodeSegment(type, 'aggregate type');
          const files = await names(fs, `${folder}/`);
          expect(files).toHaveLength(stored.length);
          const inside = new RegExp(`^${folder}/([a-z0-9_%-]+)/events/000000000001\\.batch$`);
          const decoded = files.map((f) => decodeSegment(inside.exec(f)?.[1] ?? '') ?? `(bad name ${f})`);
          expect(decoded.sort()).toEqual([...stored].sort());
          await inChunks(ids, 10, async (id, i) => {
            if (!stored.includes(id)) return;
            expect((await r.get(Named, id)).owner, JSON.stringify(id)).toBe(`#${i}`);
          });
        }),
        { numRuns: runs },
      );
      // Nothing was written anywhere else.
      for (const n of await names(fs, '')) expect(n).toMatch(/^hostile-ids-\d+\//);
    });
  });
}
