import { expect, it } from 'vitest';
import { ErrorCode, isEvsrcError } from '../../errors.js';
import { readEntry } from '../../feed/entry.js';
import type { FeedBatch } from '../../feed/feed.js';
import { entryPath, type FeedLayout, logFolder, parseVector } from '../../feed/layout.js';
import type { FileSystem } from '../../storage/file-system.js';
import { collect } from '../collect.js';
import { TestAccount } from '../sample-domain.js';
import { expectBatches, type FeedHarness, idIn } from './harness.js';

/**
 * The store loses the tail of one log and of the batches (a Redis restart that dropped the
 * last second of writes): the entries from `position` on, and the batch files they log.
 */
async function loseTail(fs: FileSystem, folder: string, from: number, to: number): Promise<void> {
  for (let position = to; position >= from; position--) {
    const path = entryPath(position, folder);
    const bytes = await fs.read(path);
    if (bytes === undefined) continue;
    for (const batch of readEntry(path, bytes, position).batches) await fs.delete(batch.path);
    await fs.delete(path);
  }
}

/** The ids of `n` test accounts in `partition`, named `{prefix}…`. */
const idsIn = (layout: FeedLayout, partition: number, prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => idIn(layout, partition, `${prefix}${i}-`));

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

/**
 * Tests of guarantee 6 on the change feed: after the store lost recent log entries, later
 * saves take their positions again; a reader that had passed them fails with a
 * `FeedIntegrityError` instead of skipping the batches written there, and a writer holding
 * an aggregate whose batch was lost is stopped.
 */
export function lossTests(h: FeedHarness): void {
  const { timeout } = h;
  const open = () => h.open();
  const repo = (fs: FileSystem) => h.repo(fs);
  const { layout } = h.variant;
  // Everything in one partition (the one of "lossy"): its log loses its tail.
  const partition = 0;
  const folder = logFolder(layout, partition);
  const lossy = idIn(layout, partition, 'lossy-');
  const [bystander, new1, new2, new3] = idsIn(layout, partition, 'n', 4) as [string, string, string, string];
  it(
    'after the store lost the tail of the log, a reader that had passed it fails loudly, live or from its checkpoint; writers past a lost batch are stopped',
    async () => {
      const fs = await open();
      const writer = repo(fs);
      const a = new TestAccount(lossy);
      a.open('Ann');
      await writer.save(a);
      for (let i = 1; i <= 3; i++) {
        a.deposit(i);
        await writer.save(a);
      }
      const b = new TestAccount(bystander);
      b.open('Bo');
      await writer.save(b);
      // A live reader and a stored checkpoint have both seen all five positions.
      const controller = new AbortController();
      const live = repo(fs).feed.watch({ pollIntervalMs: 10, signal: controller.signal });
      const seen: FeedBatch[] = [];
      for await (const batch of live) {
        seen.push(batch);
        if (seen.length === 5) break;
      }
      const checkpoint = (seen.at(-1) as FeedBatch).checkpoint;
      expect(parseVector(checkpoint, layout)[partition]).toMatchObject({ position: 5 });
      const watcher = repo(fs).feed.watch({ from: checkpoint, pollIntervalMs: 10, signal: controller.signal });
      const watching = failure(collect(watcher));

      await loseTail(fs, folder, 4, 5); // a's fourth batch and b's first are gone
      // The writer still holds `a` at version 4: its next save would land past the hole.
      a.deposit(10);
      const stopped = await failure(writer.save(a));
      expect(isEvsrcError(stopped, ErrorCode.StreamIntegrity), String(stopped)).toBe(true);
      expect(stopped).toMatchObject({ kind: 'lost' });
      // Its intent stays in the log (position 4). The writer reloads (version 3) and saves
      // version 4 again: the stale intent must never be completed on top of it.
      const reloaded = await writer.get(TestAccount, lossy);
      expect(reloaded.version).toBe(3);
      reloaded.deposit(20);
      await writer.save(reloaded);
      // Other saves take the next positions, and go on.
      const other = repo(fs);
      for (const id of [new1, new2, new3]) {
        const c = new TestAccount(id);
        c.open(id);
        await other.save(c);
      }

      const fromCheckpoint = await failure(collect(repo(fs).feed.read({ from: checkpoint })));
      expect(isEvsrcError(fromCheckpoint, ErrorCode.FeedIntegrity), String(fromCheckpoint)).toBe(true);
      const watched = await watching;
      controller.abort();
      expect(isEvsrcError(watched, ErrorCode.FeedIntegrity), String(watched)).toBe(true);
      // A reader that had not passed the lost positions sees one consistent log.
      const fresh = await collect(repo(fs).feed.read());
      expectBatches(layout, fresh, [
        ...[1, 2, 3, 4].map((v) => `test-account/${lossy}/${v}-${v}`),
        ...[new1, new2, new3].map((id) => `test-account/${id}/1-1`),
      ]);
      const final = await repo(fs).get(TestAccount, lossy);
      expect([final.version, final.balance]).toEqual([4, 1 + 2 + 20]);
    },
    timeout,
  );

  it(
    'a log entry missing while the one after it exists is reported, not skipped',
    async () => {
      const fs = await open();
      const writer = repo(fs);
      for (const id of idsIn(layout, partition, 'h', 3)) {
        const c = new TestAccount(id);
        c.open(id);
        await writer.save(c);
      }
      await fs.delete(entryPath(2, folder));
      const error = await failure(collect(repo(fs).feed.read()));
      expect(isEvsrcError(error, ErrorCode.FeedIntegrity), String(error)).toBe(true);
      expect(error).toMatchObject({ position: 2 });
    },
    timeout,
  );
}
