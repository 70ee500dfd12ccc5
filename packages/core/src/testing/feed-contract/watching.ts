import { expect, it } from 'vitest';
import { FEED_FOLDER } from '../../feed/layout.js';
import { FeedPoller } from '../../feed/poller.js';
import { collect } from '../collect.js';
import { FaultyFileSystem } from '../faulty-file-system.js';
import { TestAccount } from '../sample-domain.js';
import { type FeedHarness, idIn } from './harness.js';

/** Watching: new batches as they are committed, one poller per process, notifications where the store has them. */
export function watchingTests(h: FeedHarness): void {
  const { layout } = h.variant;
  it(
    'watchers see new batches as they are committed; all watchers of a process share one poller, and an idle one costs one read per interval',
    async () => {
      const fs = await h.open();
      const r = h.repo(fs);
      const seed = new TestAccount('seed');
      seed.open('Sid');
      await r.save(seed); // the feed is on
      const counting = new FaultyFileSystem(fs);
      const watcherRepo = h.repo(counting);
      const from = await watcherRepo.feed.head();
      const controller = new AbortController();
      const received: string[][] = [[], [], []];
      const watchers = received.map(async (into) => {
        try {
          for await (const b of watcherRepo.feed.watch({ from, signal: controller.signal, pollIntervalMs: 20 })) {
            into.push(`${b.aggregateId}/${b.firstVersion}`);
          }
        } catch (error) {
          if (!controller.signal.aborted) throw error;
        }
      });
      const until = Date.now() + 10_000;
      while (FeedPoller.of(counting).waiting < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(FeedPoller.of(counting).waiting).toBe(3);
      await new Promise((r) => setTimeout(r, 50)); // the first poll of a wait looks at every log
      const before = counting.calls.filter((c) => c.path.startsWith(FEED_FOLDER)).length;
      await new Promise((r) => setTimeout(r, 200));
      const polls = counting.calls.filter((c) => c.path.startsWith(FEED_FOLDER)).length - before;
      // One read per interval for all three watchers (≈ 10 in 200 ms), whatever the number of logs.
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
      for (const into of received) expect([...into].sort()).toEqual(['w1/1', 'w2/1']);
    },
    h.timeout,
  );

  if (h.notifies) {
    it(
      'notifications: a save on one client reaches a watcher on another at once, long before its next poll',
      async () => {
        const fs = await h.open();
        const writer = h.repo(fs);
        const readerFs = await h.other(fs);
        const reader = h.repo(readerFs);
        const seed = new TestAccount('seed');
        seed.open('Sid');
        await writer.save(seed); // the feed is on
        const from = await reader.feed.head();
        const stop = new AbortController();
        const received: { id: string; at: number }[] = [];
        let idle = 0;
        const watching = (async () => {
          try {
            const batches = reader.feed.watch({
              from,
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
          `${h.variant.name}: save to watcher, median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms (poll interval 60 s)`,
        );
      },
      h.timeout,
    );
  }

  it(
    'one poll costs the same whatever the number of aggregates',
    async () => {
      const fs = await h.open();
      const r = h.repo(fs);
      const cost = async () => {
        const counting = new FaultyFileSystem(fs);
        const reader = h.repo(counting);
        const head = await reader.feed.head();
        const before = counting.calls.length;
        await collect(reader.feed.read({ from: head }));
        return counting.calls.length - before;
      };
      // One aggregate in each log, then many more.
      for (let p = 0; p < layout.partitions; p++) await h.deposit(r, idIn(layout, p, 'few-'), 1);
      const withFew = await cost();
      await Promise.all(Array.from({ length: 60 }, (_, i) => h.deposit(r, `many-${i}`, 1)));
      expect(await cost()).toBe(withFew);
    },
    h.timeout,
  );
}
