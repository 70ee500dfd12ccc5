import { expect, it } from 'vitest';
import { ErrorCode, isEvsrcError } from '../../errors.js';
import type { FeedBatch } from '../../feed/feed.js';
import { collect } from '../collect.js';
import { TestAccount } from '../sample-domain.js';
import { expectBatches, expectFeedOrder, type FeedHarness, keys, TestLedger } from './harness.js';

/** Reading: every committed batch exactly once, in the log's order, resumable; lost races never. */
export function readingTests(h: FeedHarness): void {
  const { layout } = h.variant;
  it(
    'yields every saved batch once, in the order of the log, with its events; resumes after any checkpoint',
    async () => {
      const fs = await h.open();
      const r = h.repo(fs);
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
      expectBatches(layout, all, ['test-account/a/1-2', 'test-ledger/l-1/1-1', 'test-account/a/3-3']);
      const byKey = new Map(all.map((b) => [keys([b])[0], b]));
      expect(byKey.get('test-account/a/1-2')?.events.map((e) => e.type)).toEqual(['opened', 'deposited']);
      expect(byKey.get('test-account/a/3-3')?.events[0]?.event).toMatchObject({ amount: 7 });
      expect(byKey.get('test-account/a/3-3')?.events[0]?.version).toBe(3);
      for (let i = 0; i < all.length; i++) {
        const rest = await collect(r.feed.read({ from: all[i]?.checkpoint as string }));
        expect(keys(rest)).toEqual(keys(all.slice(i + 1)));
      }
      expect(await collect(r.feed.read({ from: (all.at(-1) as FeedBatch).checkpoint }))).toEqual([]);
      expect(keys(await collect(r.feed.read({ types: [TestLedger] })))).toEqual(['test-ledger/l-1/1-1']);
      // The head names the last entry of every log: what the last batch's checkpoint covers.
      expect(await r.feed.head()).toBe((all.at(-1) as FeedBatch).checkpoint);
    },
    h.timeout,
  );

  it(
    'a save that lost a race never appears; the winner appears exactly once',
    async () => {
      const fs = await h.open();
      const r1 = h.repo(fs);
      const r2 = h.repo(await h.other(fs));
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
    h.timeout,
  );

  it(
    'concurrent writers in several processes: every acknowledged batch exactly once, the same order for every reader, versions in order',
    async () => {
      const fs = await h.open();
      const writers = [h.repo(fs), h.repo(fs), h.repo(await h.other(fs)), h.repo(await h.other(fs))];
      const acknowledged: string[] = [];
      await Promise.all(
        writers.map(async (w, i) => {
          for (let n = 0; n < h.perWriter; n++) {
            // Two writers share each aggregate, so conflicts happen too.
            const id = `acc-${i % 2}-${n % 3}`;
            const saved = await h.deposit(w, id, 1);
            acknowledged.push(`test-account/${id}/${saved.storedVersion}-${saved.storedVersion}`);
          }
        }),
      );
      const reader1 = await collect(h.repo(fs).feed.read());
      const reader2 = await collect(h.repo(await h.other(fs)).feed.read());
      expect(keys(reader1)).toEqual(keys(reader2));
      expect(reader1.map((b) => b.checkpoint)).toEqual(reader2.map((b) => b.checkpoint));
      expect(keys(reader1).sort()).toEqual([...acknowledged].sort());
      // The documented merge order, and within an aggregate the version order.
      expectFeedOrder(layout, reader1);
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
    h.timeout,
  );
}
