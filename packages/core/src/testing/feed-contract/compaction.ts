import { expect, it } from 'vitest';
import { ErrorCode } from '../../errors.js';
import type { FeedBatch } from '../../feed/feed.js';
import { FEED_FOLDER } from '../../feed/layout.js';
import type { FileSystem } from '../../storage/file-system.js';
import { collect } from '../collect.js';
import { FaultyFileSystem } from '../faulty-file-system.js';
import { TestAccount } from '../sample-domain.js';
import { type FeedHarness, keys } from './harness.js';

/** Bytes of every file of the feed's logs. */
async function feedBytes(fs: FileSystem): Promise<number> {
  let total = 0;
  for await (const name of fs.list(FEED_FOLDER)) total += (await fs.read(name))?.byteLength ?? 0;
  return total;
}

/** Compaction: decided entries keep only where their batches are, and nothing a reader relies on changes. */
export function compactionTests(h: FeedHarness): void {
  it(
    'compaction keeps every batch, checkpoint and order; a reader in the middle, old checkpoints and a pending roll-forward are unaffected; the log shrinks',
    async () => {
      const fs = await h.open();
      const r = h.repo(fs);
      for (let i = 0; i < 30; i++) await h.deposit(r, `c-${i % 7}`, i + 1);
      // A lost race: its intent is logged, its file holds the winner's bytes.
      const x = await r.get(TestAccount, 'c-0');
      const y = await h.repo(await h.other(fs)).get(TestAccount, 'c-0');
      x.deposit(1000, 'x');
      y.deposit(2000, 'y');
      await Promise.allSettled([r.save(x), h.repo(fs).save(y)]);
      const before = await collect(r.feed.read());
      // A reader in the middle of the log, holding entries it read ahead.
      const paused = r.feed.read()[Symbol.asyncIterator]();
      const half = Math.floor(before.length / 2);
      for (let i = 0; i < half; i++) await paused.next();
      // A writer dies after logging: its entry is not decided, and stays whole.
      const faulty = new FaultyFileSystem(fs);
      const dying = h.repo(faulty);
      const d = await dying.get(TestAccount, 'c-1');
      d.deposit(7, 'in doubt');
      faulty.inject({ operation: 'create', path: /\/events\//, fault: 'fail' });
      await expect(dying.save(d)).rejects.toMatchObject({ code: ErrorCode.Storage });
      const bytesBefore = await feedBytes(fs);
      const result = await r.feed.compact();
      expect(result.entries).toBeGreaterThan(0);
      expect(result.undecided).toBe(1);
      expect(await feedBytes(fs)).toBeLessThan(bytesBefore / 2);
      // Everything reads as before: the reader in the middle, every old checkpoint, a new reader.
      const continued: FeedBatch[] = [];
      for (let next = await paused.next(); !next.done; next = await paused.next()) continued.push(next.value);
      expect(keys(continued).filter((k) => k !== 'test-account/c-1/6-6')).toEqual(keys(before.slice(half)));
      // The doubtful batch, logged after this reader passed the end of its log (or not), at most once.
      expect(keys(continued).filter((k) => k === 'test-account/c-1/6-6').length).toBeLessThanOrEqual(1);
      const after = await collect(h.repo(await h.other(fs)).feed.read());
      // The dying writer's batch is completed by the roll-forward, after everything that was there before.
      expect(keys(after)).toContain('test-account/c-1/6-6');
      const rest = after.filter((b) => keys([b])[0] !== 'test-account/c-1/6-6');
      expect(rest.map((b) => b.checkpoint)).toEqual(before.map((b) => b.checkpoint));
      expect(keys(rest)).toEqual(keys(before));
      for (const [i, b] of before.entries()) {
        if (i % 5 !== 0) continue;
        const suffix = await collect(r.feed.read({ from: b.checkpoint }));
        expect(keys(suffix).filter((k) => k !== 'test-account/c-1/6-6')).toEqual(keys(before.slice(i + 1)));
      }
      expect(after.find((b) => b.aggregateId === 'c-3')?.events[0]?.event).toMatchObject({ amount: 4 });
      // Compacted now too (its batch is decided), and writers go on after a compacted head.
      expect((await r.feed.compact()).undecided).toBe(0);
      await h.deposit(h.repo(await h.other(fs)), 'c-9', 5);
      expect(keys(await collect(r.feed.read())).at(-1)).toBe('test-account/c-9/1-1');
    },
    h.timeout,
  );

  it(
    'compaction racing writers and a watcher: every acknowledged batch reaches the watcher exactly once, and reads back the same',
    async () => {
      const fs = await h.open();
      const r = h.repo(fs);
      await h.deposit(r, 'race-seed', 1);
      const from = await r.feed.head();
      const stop = new AbortController();
      const seen: string[] = [];
      const watching = (async () => {
        try {
          for await (const b of h
            .repo(await h.other(fs))
            .feed.watch({ from, signal: stop.signal, pollIntervalMs: 10 })) {
            seen.push(keys([b])[0] as string);
          }
        } catch (error) {
          if (!stop.signal.aborted) throw error;
        }
      })();
      const acknowledged: string[] = [];
      let writing = true;
      const compacting = (async () => {
        let compactions = 0;
        while (writing || compactions === 0) {
          await h.repo(await h.other(fs)).feed.compact();
          compactions++;
        }
        return compactions;
      })();
      await Promise.all(
        [0, 1, 2].map(async (w) => {
          const writer = h.repo(w === 0 ? fs : await h.other(fs));
          for (let n = 0; n < h.perWriter; n++) {
            const saved = await h.deposit(writer, `race-${w}-${n % 4}`, 1);
            acknowledged.push(`test-account/race-${w}-${n % 4}/${saved.storedVersion}-${saved.storedVersion}`);
          }
        }),
      );
      writing = false;
      expect(await compacting).toBeGreaterThan(0);
      const deadline = Date.now() + 20_000;
      while (seen.length < acknowledged.length && Date.now() < deadline) await new Promise((s) => setTimeout(s, 10));
      stop.abort();
      await watching;
      expect([...seen].sort()).toEqual([...acknowledged].sort());
      await r.feed.compact();
      const all = await collect(r.feed.read({ from }));
      expect([...keys(all)].sort()).toEqual([...acknowledged].sort());
    },
    h.timeout,
  );
}
