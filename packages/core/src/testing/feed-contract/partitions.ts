import { expect, it } from 'vitest';
import { ErrorCode } from '../../errors.js';
import type { FeedBatch } from '../../feed/feed.js';
import { BELL, decodeMarker, entryPath, FEED_FOLDER, FEED_MARKER } from '../../feed/layout.js';
import { FeedPoller } from '../../feed/poller.js';
import { Repository } from '../../repository/repository.js';
import type { FileSystem } from '../../storage/file-system.js';
import { collect } from '../collect.js';
import { FaultyFileSystem } from '../faulty-file-system.js';
import { TestAccount, testAccountType } from '../sample-domain.js';
import { expectFeedOrder, type FeedHarness, idIn, keys } from './harness.js';
import { LEGACY_CHECKPOINTS, LEGACY_FILES } from './legacy-store.js';

/** A partitioned feed: K fixed in the store, readers that split it, idle watchers that cost one read. */
export function partitionTests(h: FeedHarness): void {
  const { layout } = h.variant;
  const K = layout.partitions;
  it(
    'the number of partitions is fixed in the store: writers with feed: true follow it, another number is refused',
    async () => {
      const fs = await h.open();
      await h.deposit(h.repo(fs), 'first', 1);
      expect(decodeMarker((await fs.read(FEED_MARKER)) as Uint8Array)).toEqual(layout);
      const follower = new Repository({ fileSystem: await h.other(fs), aggregates: [testAccountType()], feed: true });
      for (let i = 0; i < 12; i++) await h.deposit(follower, `f-${i}`, 1);
      const all = await collect(follower.feed.read());
      expect(new Set(all.map((b) => b.partition)).size).toBeGreaterThan(1);
      for (const b of all) expect(b.partition).toBeLessThan(K);
      const other = new Repository({ fileSystem: fs, aggregates: [testAccountType()], feed: { partitions: K + 1 } });
      const c = new TestAccount('refused');
      c.open('Rex');
      await expect(other.save(c)).rejects.toMatchObject({ code: ErrorCode.Configuration });
      expect(c.pendingEvents).toHaveLength(1);
    },
    h.timeout,
  );

  it(
    'readers of disjoint partitions split the feed: together every batch exactly once, each resumable from its own checkpoints',
    async () => {
      const fs = await h.open();
      const r = h.repo(fs);
      for (let i = 0; i < 24; i++) await h.deposit(r, `s-${i % 8}`, i);
      const all = await collect(r.feed.read());
      expect(all).toHaveLength(24);
      expectFeedOrder(layout, all);
      const halves = [
        Array.from({ length: K }, (_, p) => p).filter((p) => p % 2 === 0),
        Array.from({ length: K }, (_, p) => p).filter((p) => p % 2 === 1),
      ];
      const shares: FeedBatch[][] = [];
      for (const partitions of halves) {
        const share = await collect(h.repo(await h.other(fs)).feed.read({ partitions }));
        for (const b of share) expect(partitions).toContain(b.partition);
        expectFeedOrder(layout, share);
        // Resuming from any of its checkpoints yields the rest of this share, and nothing of the other.
        const middle = Math.floor(share.length / 2);
        const rest = await collect(r.feed.read({ partitions, from: (share[middle] as FeedBatch).checkpoint }));
        expect(keys(rest)).toEqual(keys(share.slice(middle + 1)));
        shares.push(share);
      }
      expect([...keys(shares[0] ?? []), ...keys(shares[1] ?? [])].sort()).toEqual([...keys(all)].sort());
      // A checkpoint of one share, given to a reader of the whole feed, yields the other share and the rest of its own.
      const firstOfEven = (shares[0] as FeedBatch[])[0] as FeedBatch;
      const fromIt = await collect(r.feed.read({ from: firstOfEven.checkpoint }));
      expect(fromIt).toHaveLength(23);
      await expect(collect(r.feed.read({ partitions: [K] }))).rejects.toMatchObject({
        code: ErrorCode.Configuration,
      });
      // Checkpoints of another feed are refused, naming them.
      const otherFeed = `${K + 1}|${Array.from({ length: K + 1 }, () => '1:0').join(',')}`;
      await expect(collect(r.feed.read({ from: otherFeed }))).rejects.toMatchObject({ code: ErrorCode.Configuration });
      await expect(collect(r.feed.read({ from: '3:0' }))).rejects.toThrow(/3:0/);
    },
    h.timeout,
  );

  it(
    'an idle watcher reads one file per poll interval, not one per partition, and a new batch in any partition still reaches it',
    async () => {
      const fs = await h.open();
      const r = h.repo(fs);
      await h.deposit(r, 'seed', 1);
      const counting = new FaultyFileSystem(fs);
      const reader = h.repo(counting);
      const from = await reader.feed.head();
      const stop = new AbortController();
      const received: string[] = [];
      const watching = (async () => {
        try {
          for await (const b of reader.feed.watch({ from, signal: stop.signal, pollIntervalMs: 20 })) {
            received.push(b.aggregateId);
          }
        } catch (error) {
          if (!stop.signal.aborted) throw error;
        }
      })();
      const deadline = Date.now() + 10_000;
      while (FeedPoller.of(counting).waiting < 1 && Date.now() < deadline) await new Promise((s) => setTimeout(s, 5));
      await new Promise((s) => setTimeout(s, 60));
      const before = counting.calls.length;
      await new Promise((s) => setTimeout(s, 400));
      const idle = counting.calls.slice(before).filter((c) => c.path.startsWith(FEED_FOLDER));
      // ≈ 20 polls: all of them of the bell; no log is read while nothing happens.
      expect(idle.length).toBeGreaterThan(0);
      expect(idle.length).toBeLessThanOrEqual(26);
      expect(idle.filter((c) => c.path !== BELL)).toEqual([]);
      // A save in each partition is seen.
      const ids = Array.from({ length: K }, (_, p) => idIn(layout, p, `w${p}-`));
      for (const id of ids) await h.deposit(r, id, 1);
      const until = Date.now() + 10_000;
      while (received.length < K && Date.now() < until) await new Promise((s) => setTimeout(s, 10));
      stop.abort();
      await watching;
      expect([...received].sort()).toEqual([...ids].sort());
    },
    h.timeout,
  );
}

/** A store written before partitions existed: read, resumed from its old checkpoints, and written to, unchanged. */
export function legacyStoreTests(h: FeedHarness, fresh: () => Promise<FileSystem>): void {
  it(
    'a store written before partitions is a one-log feed: read with its old checkpoints, resumed from them, and written to',
    async () => {
      const fs = await fresh();
      for (const [path, base64] of Object.entries(LEGACY_FILES)) await fs.create(path, Buffer.from(base64, 'base64'));
      const r = new Repository({ fileSystem: fs, aggregates: [testAccountType()], feed: true });
      const all = await collect(r.feed.read());
      expect(all.map((b) => [b.checkpoint, `${b.aggregateId}@${b.firstVersion}-${b.lastVersion}`])).toEqual(
        LEGACY_CHECKPOINTS.map(([c, k]) => [c, k]),
      );
      expect(await r.feed.partitions()).toBe(1);
      for (let i = 0; i < LEGACY_CHECKPOINTS.length; i++) {
        const [checkpoint] = LEGACY_CHECKPOINTS[i] as readonly [string, string];
        expect(keys(await collect(r.feed.read({ from: checkpoint })))).toEqual(keys(all.slice(i + 1)));
        // Checkpoints from before entry ids ("position:index") still resume.
        const short = checkpoint.split(':').slice(0, 2).join(':');
        expect(keys(await collect(r.feed.read({ from: short })))).toEqual(keys(all.slice(i + 1)));
      }
      expect((await r.get(TestAccount, 'a-1')).balance).toBe(12);
      // Written to by this version: the same log, the same marker, the same checkpoint format.
      await h.deposit(r, 'b-2', 4);
      const c = new TestAccount('c-3');
      c.open('Cy');
      await r.save(c);
      const rest = await collect(r.feed.read({ from: (LEGACY_CHECKPOINTS.at(-1) as readonly [string, string])[0] }));
      expect(rest.map((b) => `${b.aggregateId}@${b.firstVersion}`)).toEqual(['b-2@3', 'c-3@1']);
      expect(rest[0]?.checkpoint).toMatch(/^5:0:[0-9a-f]{16}$/);
      expect(await fs.read(entryPath(6))).toBeDefined();
      expect(new TextDecoder().decode(await fs.read(FEED_MARKER))).toBe('on\n');
      const partitioned = new Repository({ fileSystem: fs, aggregates: [testAccountType()], feed: { partitions: 4 } });
      await expect(h.deposit(partitioned, 'd-4', 1)).rejects.toMatchObject({ code: ErrorCode.Configuration });
    },
    h.timeout,
  );
}
