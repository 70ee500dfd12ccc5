import { expect, it } from 'vitest';
import { ErrorCode } from '../../errors.js';
import type { Feed } from '../../feed/feed.js';
import { entryPath, FEED_MARKER, FEED_START, logFolder, parseVector } from '../../feed/layout.js';
import { Projection } from '../../feed/projection.js';
import { Repository } from '../../repository/repository.js';
import type { FileSystem } from '../../storage/file-system.js';
import { collect } from '../collect.js';
import { FaultyFileSystem } from '../faulty-file-system.js';
import { TestAccount, testAccountType } from '../sample-domain.js';
import { expectBatches, type FeedHarness } from './harness.js';

/** The feed as a property of the store, and projections fed by it. */
export function storeTests(h: FeedHarness): void {
  const { layout } = h.variant;
  it(
    'a projection: exactly once through restarts and a rival process, and a rebuild gives the same state',
    async () => {
      const fs = await h.open();
      const r = h.repo(fs);
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
      for (let i = 0; i < 10; i++) await h.deposit(r, `p-${i % 4}`, i + 1);
      const first = balances(r.feed, fs);
      expect(await first.catchUp()).toBe(10);
      expect(first.state).toEqual({ 'p-0': 1 + 5 + 9, 'p-1': 2 + 6 + 10, 'p-2': 3 + 7, 'p-3': 4 + 8 });
      // More deposits; a process handles some of them and dies before storing.
      for (let i = 10; i < 16; i++) await h.deposit(r, `p-${i % 4}`, 100);
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
      // It had handled the ten stored batches and three more (which it could not store).
      expect(Object.values(dying.state).reduce((sum, n) => sum + n, 0)).toBe(55 + 300);
      // A restarted process resumes from what was stored: each deposit counted once.
      const restarted = balances(r.feed, fs);
      const rival = balances(h.repo(await h.other(fs)).feed, await h.other(fs));
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
    h.timeout,
  );

  it(
    'the feed is a property of the store: other writers follow it; feed: false refuses; bad input is named',
    async () => {
      const fs = await h.open();
      const on = h.repo(fs);
      const a = new TestAccount('m');
      a.open('Mo');
      await on.save(a);
      expect(await fs.read(FEED_MARKER)).toBeDefined();
      const follower = new Repository({ fileSystem: await h.other(fs), aggregates: [testAccountType()] });
      const b = new TestAccount('n');
      b.open('No');
      await follower.save(b);
      expectBatches(layout, await collect(on.feed.read()), ['test-account/m/1-1', 'test-account/n/1-1']);
      const refusing = new Repository({ fileSystem: fs, aggregates: [testAccountType()], feed: false });
      const c = new TestAccount('o');
      c.open('Oz');
      await expect(refusing.save(c)).rejects.toMatchObject({ code: ErrorCode.Configuration });
      expect(c.pendingEvents).toHaveLength(1);
      await expect(collect(on.feed.read({ from: 'yesterday' }))).rejects.toThrow(/yesterday/);
      // A damaged log entry is reported with its name, never skipped.
      const heads = parseVector(await on.feed.head(), layout);
      const partition = heads.findIndex((at) => at.position > 0);
      const path = entryPath((heads[partition] as { position: number }).position, logFolder(layout, partition));
      const bytes = (await fs.read(path)) as Uint8Array;
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
      await fs.replace(path, bytes);
      const error = await collect(on.feed.read({ from: FEED_START })).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCode.CorruptFile });
      expect(String((error as Error).message)).toContain(path);
    },
    h.timeout,
  );
}
