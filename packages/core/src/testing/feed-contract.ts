// Over 300 lines: one contract suite sharing its fixtures; split, each part would repeat the setup.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, isEvsrcError } from '../errors.js';
import { decodeEntry, encodeEntry, type LoggedBatch } from '../feed/entry.js';
import type { Feed, FeedBatch } from '../feed/feed.js';
import { entryPath, FEED_FOLDER, FEED_MARKER, FEED_START, parseCheckpoint } from '../feed/layout.js';
import { FeedPoller } from '../feed/poller.js';
import { Projection } from '../feed/projection.js';
import { batchPath } from '../format/layout.js';
import { Aggregate } from '../model/aggregate.js';
import { ChangeEvent } from '../model/change-event.js';
import { aggregateType } from '../repository/aggregate-type.js';
import type { RepositoryOptions } from '../repository/options.js';
import { Repository } from '../repository/repository.js';
import type { FileSystem } from '../storage/file-system.js';
import { InMemoryFileSystem } from '../storage/in-memory.js';
import { collect } from './collect.js';
import { FaultyFileSystem } from './faulty-file-system.js';
import { feedLossTests } from './feed-loss-contract.js';
import type { RepositoryContractOptions } from './repository-contract.js';
import { TestAccount, testAccountType } from './sample-domain.js';

/** How {@link describeFeedContract} gets file systems to test (as the repository suite does). */
export interface FeedContractOptions
  extends Pick<RepositoryContractOptions, 'create' | 'secondClient' | 'dispose' | 'timeout'> {
  /** Saves per writer in the concurrent-writers test (default 15). */
  savesPerWriter?: number;
  /**
   * The file system's `watch` hears other clients' writes (native notifications): then a
   * watcher polling once a minute must still get each batch at once. Leave it out for
   * stores that only poll.
   */
  notifies?: boolean;
}

/** A second aggregate type, to show type filters. */
class TestLedger extends Aggregate {
  static readonly type = 'test-ledger';
  lines = 0;
  post(): void {
    this.raise(new TestPosted(this.lines + 1));
  }
}

class TestPosted extends ChangeEvent<TestLedger> {
  static readonly type = 'posted';
  constructor(readonly line: number) {
    super();
  }
  applyOn(ledger: TestLedger): void {
    ledger.lines = this.line;
  }
}

const ledgerType = aggregateType(TestLedger, { events: [TestPosted] });

/** `type/id/first` of each batch: what the invariants compare. */
const keys = (batches: readonly FeedBatch[]) =>
  batches.map((b) => `${b.aggregateType}/${b.aggregateId}/${b.firstVersion}-${b.lastVersion}`);

/**
 * Defines the change feed's suite over a `FileSystem` under vitest: the invariants of
 * `docs/reference/feed.md` (every acknowledged batch exactly once, failed saves never, resuming
 * from a checkpoint, no hole behind a reader's checkpoint when writers are slow or die
 * after logging), watching, type filters, and projections — against the real store.
 */
export function describeFeedContract(name: string, options: FeedContractOptions): void {
  const timeout = options.timeout ?? 60_000;
  const perWriter = options.savesPerWriter ?? 15;
  const created: FileSystem[] = [];
  const open = async () => {
    const fs = await options.create();
    created.push(fs);
    return fs;
  };
  const other = async (fs: FileSystem) => {
    if (!options.secondClient) return fs;
    const second = await options.secondClient(fs);
    created.push(second);
    return second;
  };
  const repo = (fs: FileSystem, extra: Partial<RepositoryOptions> = {}) =>
    new Repository({
      fileSystem: fs,
      aggregates: [testAccountType(), ledgerType],
      feed: true,
      feedReading: { rollForwardAfterMs: 50 },
      ...extra,
    });
  const deposit = async (r: Repository, id: string, amount: number) =>
    r.execute(TestAccount, id, (a) => a.deposit(amount, String(amount)), { create: true, maxAttempts: 50 });

  afterEach(async () => {
    const all = created.splice(0);
    for (const fs of all) {
      if (options.dispose) await options.dispose(fs);
      else await fs.close?.();
    }
  });

  describe(`change feed contract: ${name}`, () => {
    feedLossTests({ timeout, open, repo: (fs) => repo(fs) });

    it(
      'yields every saved batch once, in the order of the log, with its events; resumes after any checkpoint',
      async () => {
        const fs = await open();
        const r = repo(fs);
        const a = new TestAccount('a');
        a.open('Ann');
        a.deposit(5);
        await r.save(a);
        const ledger = new TestLedger('l-1');
        ledger.post();
        await r.save(ledger);
        a.deposit(7);
        await r.save(a);
        const all = await collect(r.feed.read());
        expect(keys(all)).toEqual(['test-account/a/1-2', 'test-ledger/l-1/1-1', 'test-account/a/3-3']);
        expect(all[0]?.events.map((e) => e.type)).toEqual(['opened', 'deposited']);
        expect(all[2]?.events[0]?.event).toMatchObject({ amount: 7 });
        expect(all[2]?.events[0]?.version).toBe(3);
        for (let i = 0; i < all.length; i++) {
          const rest = await collect(r.feed.read({ from: all[i]?.checkpoint as string }));
          expect(keys(rest)).toEqual(keys(all.slice(i + 1)));
        }
        expect(await collect(r.feed.read({ from: (all.at(-1) as FeedBatch).checkpoint }))).toEqual([]);
        expect(keys(await collect(r.feed.read({ types: [TestLedger] })))).toEqual(['test-ledger/l-1/1-1']);
        // The batch file names its own place in the feed.
        expect(await r.feed.head()).toBe((all.at(-1) as FeedBatch).checkpoint);
      },
      timeout,
    );

    it(
      'a save that lost a race never appears; the winner appears exactly once',
      async () => {
        const fs = await open();
        const r1 = repo(fs);
        const r2 = repo(await other(fs));
        const seed = new TestAccount('race');
        seed.open('Ann');
        await r1.save(seed);
        const x = await r1.get(TestAccount, 'race');
        const y = await r2.get(TestAccount, 'race');
        x.deposit(1, 'x');
        y.deposit(2, 'y');
        const results = await Promise.allSettled([r1.save(x), r2.save(y)]);
        const lost = results.filter((s) => s.status === 'rejected');
        expect(lost).toHaveLength(1);
        expect(isEvsrcError((lost[0] as PromiseRejectedResult).reason, ErrorCode.Concurrency)).toBe(true);
        const stored = await r1.get(TestAccount, 'race');
        const all = await collect(r1.feed.read());
        expect(keys(all)).toEqual(['test-account/race/1-1', 'test-account/race/2-2']);
        expect(all[1]?.events[0]?.event).toMatchObject({ note: stored.log[0] });
      },
      timeout,
    );

    it(
      'concurrent writers in several processes: every acknowledged batch exactly once, the same order for every reader, versions in order',
      async () => {
        const fs = await open();
        const writers = [repo(fs), repo(fs), repo(await other(fs)), repo(await other(fs))];
        const acknowledged: string[] = [];
        await Promise.all(
          writers.map(async (w, i) => {
            for (let n = 0; n < perWriter; n++) {
              // Two writers share each aggregate, so conflicts happen too.
              const id = `acc-${i % 2}-${n % 3}`;
              const saved = await deposit(w, id, 1);
              acknowledged.push(`test-account/${id}/${saved.storedVersion}-${saved.storedVersion}`);
            }
          }),
        );
        const reader1 = await collect(repo(fs).feed.read());
        const reader2 = await collect(repo(await other(fs)).feed.read());
        expect(keys(reader1)).toEqual(keys(reader2));
        expect(keys(reader1).sort()).toEqual([...acknowledged].sort());
        // Within an aggregate, the feed's order is the version order.
        const lastSeen = new Map<string, number>();
        for (const b of reader1) {
          const key = `${b.aggregateType}/${b.aggregateId}`;
          expect(b.firstVersion).toBe((lastSeen.get(key) ?? 0) + 1);
          lastSeen.set(key, b.lastVersion);
        }
        // And the feed adds up to the aggregates.
        for (const [key, version] of lastSeen) {
          const id = key.split('/')[1] as string;
          expect((await writers[0]?.get(TestAccount, id))?.version).toBe(version);
        }
      },
      timeout,
    );

    it(
      'a writer that dies after logging its batch leaves no hole: a reader completes the batch, and its retry finds it landed',
      async () => {
        const fs = await open();
        const faulty = new FaultyFileSystem(fs);
        const writer = repo(faulty);
        const account = new TestAccount('crash');
        account.open('Ann');
        await writer.save(account);
        account.deposit(9, 'in doubt');
        // The batch is logged, then its create never reaches the store ("the process died").
        faulty.inject({ operation: 'create', path: /\/events\//, fault: 'fail' });
        await expect(writer.save(account)).rejects.toMatchObject({ code: ErrorCode.Storage });
        expect(account.pendingEvents).toHaveLength(1);
        const other1 = repo(await other(fs));
        expect((await other1.get(TestAccount, 'crash')).version).toBe(1);
        const all = await collect(other1.feed.read());
        expect(keys(all)).toEqual(['test-account/crash/1-1', 'test-account/crash/2-2']);
        expect((await other1.get(TestAccount, 'crash')).balance).toBe(9);
        // The writer's retry recognises its own batch: no second copy, none in the feed either.
        await writer.save(account);
        expect(account.storedVersion).toBe(2);
        expect(keys(await collect(other1.feed.read()))).toEqual(keys(all));
      },
      timeout,
    );

    it(
      'roll-forward writes only the batch its log entry describes: logged bytes of another aggregate, version, commit or checkpoint are refused, naming the entry',
      async () => {
        // A valid batch (checksums hold) of "other", logged at 1:0, made in a scratch store.
        const scratch = new InMemoryFileSystem();
        const o = new TestAccount('other');
        o.open('Olga');
        await repo(scratch).save(o);
        const made = decodeEntry(entryPath(1), (await scratch.read(entryPath(1))) as Uint8Array, 1)[0] as LoggedBatch;
        const xPath = batchPath('test-account', 'x', 1);
        const forgeries: { what: string; batch: LoggedBatch; position: number }[] = [
          // The entry says x's first batch; the bytes are other's. Rolled forward, x could never load again.
          { what: 'another aggregate', batch: { ...made, id: 'x', path: xPath }, position: 1 },
          { what: 'another last version', batch: { ...made, last: 2 }, position: 1 },
          { what: 'another commit', batch: { ...made, commit: 'forged' }, position: 1 },
          // The bytes name checkpoint 1:0, the entry is at 2:0: rolled forward, the batch would count twice.
          { what: 'another checkpoint', batch: made, position: 2 },
        ];
        for (const { what, batch, position } of forgeries) {
          const fs = await open();
          const r = repo(fs);
          if (position === 2) {
            const first = new TestAccount('first');
            first.open('Fred');
            await r.save(first);
          }
          await fs.create(entryPath(position), encodeEntry(position, [batch]));
          const error = await collect(r.feed.read()).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error, what).toMatchObject({ code: ErrorCode.CorruptFile, path: entryPath(position) });
          expect((error as Error).message, what).toContain(batch.path);
          // Nothing was written: the aggregate is as it was (none), and loads.
          expect(await fs.read(batch.path), what).toBeUndefined();
          await expect(r.get(TestAccount, batch.id), what).rejects.toMatchObject({
            code: ErrorCode.AggregateNotFound,
          });
        }
      },
      timeout,
    );

    it(
      'a slow writer: a reader never skips its batch, even when later batches are already committed',
      async () => {
        const fs = await open();
        const faulty = new FaultyFileSystem(fs);
        const slow = repo(faulty);
        const fast = repo(await other(fs));
        const s = new TestAccount('slow');
        s.open('Sam');
        faulty.inject({ operation: 'create', path: /\/events\//, fault: 'hang' });
        const slowSave = slow.save(s);
        while (faulty.hanging === 0) await new Promise((r) => setTimeout(r, 5));
        const f = new TestAccount('fast');
        f.open('Fay');
        await fast.save(f);
        const reader = repo(await other(fs), { feedReading: { rollForwardAfterMs: 10_000 } });
        const seen: FeedBatch[] = [];
        const reading = (async () => {
          for await (const b of reader.feed.read()) seen.push(b);
        })();
        await new Promise((r) => setTimeout(r, 100));
        expect(seen).toEqual([]); // waits for the slow batch rather than passing it by
        faulty.release();
        await slowSave;
        await reading;
        expect(keys(seen)).toEqual(['test-account/slow/1-1', 'test-account/fast/1-1']);
      },
      timeout,
    );

    it(
      'watchers see new batches as they are committed; all watchers of a process share one poller',
      async () => {
        const fs = await open();
        const r = repo(fs);
        const counting = new FaultyFileSystem(fs);
        const watcherRepo = repo(counting);
        const controller = new AbortController();
        const received: string[][] = [[], [], []];
        const watchers = received.map(async (into) => {
          try {
            for await (const b of watcherRepo.feed.watch({ signal: controller.signal, pollIntervalMs: 20 })) {
              into.push(`${b.aggregateId}/${b.firstVersion}`);
            }
          } catch (error) {
            if (!controller.signal.aborted) throw error;
          }
        });
        const until = Date.now() + 10_000;
        while (FeedPoller.of(counting).waiting < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
        expect(FeedPoller.of(counting).waiting).toBe(3);
        const before = counting.calls.filter((c) => c.path.startsWith(FEED_FOLDER)).length;
        await new Promise((r) => setTimeout(r, 200));
        const polls = counting.calls.filter((c) => c.path.startsWith(FEED_FOLDER)).length - before;
        // One read per interval for all three watchers (≈ 10 in 200 ms), not one per watcher.
        expect(polls).toBeLessThanOrEqual(14);
        for (const id of ['w1', 'w2']) {
          const a = new TestAccount(id);
          a.open(id);
          await r.save(a);
        }
        const deadline = Date.now() + 10_000;
        while (received.some((x) => x.length < 2) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 10));
        }
        controller.abort();
        await Promise.all(watchers);
        for (const into of received) expect(into).toEqual(['w1/1', 'w2/1']);
      },
      timeout,
    );

    if (options.notifies) {
      it(
        'notifications: a save on one client reaches a watcher on another at once, long before its next poll',
        async () => {
          const fs = await open();
          const writer = repo(fs);
          const readerFs = await other(fs);
          const reader = repo(readerFs);
          const stop = new AbortController();
          const received: { id: string; at: number }[] = [];
          let idle = 0;
          const watching = (async () => {
            try {
              const batches = reader.feed.watch({
                signal: stop.signal,
                pollIntervalMs: 60_000,
                idle: () => void idle++,
              });
              for await (const b of batches) received.push({ id: b.aggregateId, at: performance.now() });
            } catch (error) {
              if (!stop.signal.aborted) throw error;
            }
          })();
          const until = async (done: () => boolean, what: string) => {
            const deadline = Date.now() + 5_000;
            while (!done()) {
              if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
              await new Promise((r) => setTimeout(r, 1));
            }
          };
          const latencies: number[] = [];
          try {
            for (let i = 0; i < 10; i++) {
              await until(() => idle > i && FeedPoller.of(readerFs).waiting === 1, 'the watcher to wait');
              const account = new TestAccount(`n-${i}`);
              account.open('Nia');
              const start = performance.now();
              await writer.save(account);
              // Only a notification can bring it within 5 s: the next poll is a minute away.
              await until(() => received.length > i, `batch ${i}`);
              latencies.push((received[i]?.at as number) - start);
            }
          } finally {
            stop.abort();
            await watching;
          }
          expect(received.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => `n-${i}`));
          const sorted = latencies.slice(1).sort((a, b) => a - b);
          console.log(
            `${name}: save to watcher, median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms (poll interval 60 s)`,
          );
        },
        timeout,
      );
    }

    it(
      'one poll costs the same whatever the number of aggregates',
      async () => {
        const fs = await open();
        const r = repo(fs);
        const cost = async () => {
          const counting = new FaultyFileSystem(fs);
          const reader = repo(counting);
          const head = await reader.feed.head();
          const before = counting.calls.length;
          await collect(reader.feed.read({ from: head }));
          return counting.calls.length - before;
        };
        for (let i = 0; i < 3; i++) await deposit(r, `few-${i}`, 1);
        const withFew = await cost();
        await Promise.all(Array.from({ length: 60 }, (_, i) => deposit(r, `many-${i}`, 1)));
        expect(await cost()).toBe(withFew);
      },
      timeout,
    );

    it(
      'a projection: exactly once through restarts and a rival process, and a rebuild gives the same state',
      async () => {
        const fs = await open();
        const r = repo(fs);
        const balances = (feed: Feed, store: FileSystem) =>
          new Projection<Record<string, number>>({
            feed,
            fileSystem: store,
            name: 'balances',
            types: [TestAccount],
            saveEvery: 3,
            initialState: () => ({}),
            handle: (state, batch) => {
              for (const e of batch.events) {
                const amount = (e.event as { amount?: number }).amount ?? 0;
                state[batch.aggregateId] = (state[batch.aggregateId] ?? 0) + amount;
              }
              return state;
            },
          });
        for (let i = 0; i < 10; i++) await deposit(r, `p-${i % 4}`, i + 1);
        const first = balances(r.feed, fs);
        expect(await first.catchUp()).toBe(10);
        expect(first.state).toEqual({ 'p-0': 1 + 5 + 9, 'p-1': 2 + 6 + 10, 'p-2': 3 + 7, 'p-3': 4 + 8 });
        // More deposits; a process handles some of them and dies before storing.
        for (let i = 10; i < 16; i++) await deposit(r, `p-${i % 4}`, 100);
        // Its store of state fails: it handles 3 batches (saveEvery), cannot store them, and stops.
        const unstorable = new FaultyFileSystem(fs);
        unstorable.inject({
          operation: 'create',
          path: /projections\//,
          fault: 'fail',
          times: Number.POSITIVE_INFINITY,
        });
        const dying = balances(r.feed, unstorable);
        await expect(dying.catchUp()).rejects.toMatchObject({ code: ErrorCode.Storage });
        expect(Object.values(dying.state).reduce((sum, n) => sum + n, 0)).toBe(15 + 18 + 10 + 12 + 300);
        // A restarted process resumes from what was stored: each deposit counted once.
        const restarted = balances(r.feed, fs);
        const rival = balances(repo(await other(fs)).feed, await other(fs));
        const outcomes = await Promise.allSettled([restarted.catchUp(), rival.catchUp()]);
        const losers = outcomes.filter((o) => o.status === 'rejected');
        for (const l of losers)
          expect((l as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.Concurrency });
        const final = balances(r.feed, fs);
        await final.catchUp();
        expect(final.state).toEqual({ 'p-0': 115, 'p-1': 118, 'p-2': 210, 'p-3': 212 });
        const rebuilt = balances(r.feed, fs);
        await rebuilt.rebuild();
        expect(rebuilt.state).toEqual(final.state);
      },
      timeout,
    );

    it(
      'the feed is a property of the store: other writers follow it; feed: false refuses; bad input is named',
      async () => {
        const fs = await open();
        const on = repo(fs);
        const a = new TestAccount('m');
        a.open('Mo');
        await on.save(a);
        expect(await fs.read(FEED_MARKER)).toBeDefined();
        const follower = new Repository({ fileSystem: await other(fs), aggregates: [testAccountType()] });
        const b = new TestAccount('n');
        b.open('No');
        await follower.save(b);
        expect(keys(await collect(on.feed.read()))).toEqual(['test-account/m/1-1', 'test-account/n/1-1']);
        const refusing = new Repository({ fileSystem: fs, aggregates: [testAccountType()], feed: false });
        const c = new TestAccount('o');
        c.open('Oz');
        await expect(refusing.save(c)).rejects.toMatchObject({ code: ErrorCode.Configuration });
        expect(c.pendingEvents).toHaveLength(1);
        await expect(collect(on.feed.read({ from: 'yesterday' }))).rejects.toThrow(/yesterday/);
        // A damaged log entry is reported with its name, never skipped.
        const path = entryPath(parseCheckpoint((await on.feed.head()) as string).position);
        const bytes = (await fs.read(path)) as Uint8Array;
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
        await fs.replace(path, bytes);
        const error = await collect(on.feed.read({ from: FEED_START })).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: ErrorCode.CorruptFile });
        expect(String((error as Error).message)).toContain(path);
      },
      timeout,
    );
  });
}
