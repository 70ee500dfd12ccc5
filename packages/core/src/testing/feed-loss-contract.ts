import { expect, it } from 'vitest';
import { ErrorCode, isEvsrcError } from '../errors.js';
import { readEntry } from '../feed/entry.js';
import type { FeedBatch } from '../feed/feed.js';
import { entryPath, parseCheckpoint } from '../feed/layout.js';
import type { Repository } from '../repository/repository.js';
import type { FileSystem } from '../storage/file-system.js';
import { collect } from './collect.js';
import { TestAccount } from './sample-domain.js';

/** What the loss tests need from the feed contract around them. */
export interface FeedLossContext {
  readonly timeout: number;
  open(): Promise<FileSystem>;
  repo(fs: FileSystem): Repository;
}

/**
 * The store loses the tail of the log and of the batches (a Redis restart that dropped the
 * last second of writes): the entries from `position` on, and the batch files they log.
 */
async function loseTail(fs: FileSystem, from: number, to: number): Promise<void> {
  for (let position = to; position >= from; position--) {
    const path = entryPath(position);
    const bytes = await fs.read(path);
    if (bytes === undefined) continue;
    for (const batch of readEntry(path, bytes, position).batches) await fs.delete(batch.path);
    await fs.delete(path);
  }
}

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
export function feedLossTests({ timeout, open, repo }: FeedLossContext): void {
  it(
    'after the store lost the tail of the log, a reader that had passed it fails loudly, live or from its checkpoint; writers past a lost batch are stopped',
    async () => {
      const fs = await open();
      const writer = repo(fs);
      const a = new TestAccount('lossy');
      a.open('Ann');
      await writer.save(a);
      for (let i = 1; i <= 3; i++) {
        a.deposit(i);
        await writer.save(a);
      }
      const b = new TestAccount('bystander');
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
      expect(parseCheckpoint(checkpoint)).toMatchObject({ position: 5 });
      const watcher = repo(fs).feed.watch({ from: checkpoint, pollIntervalMs: 10, signal: controller.signal });
      const watching = failure(collect(watcher));

      await loseTail(fs, 4, 5); // a's fourth batch and b's first are gone
      // The writer still holds `a` at version 4: its next save would land past the hole.
      a.deposit(10);
      const stopped = await failure(writer.save(a));
      expect(isEvsrcError(stopped, ErrorCode.StreamIntegrity), String(stopped)).toBe(true);
      expect(stopped).toMatchObject({ kind: 'lost' });
      // Its intent stays in the log (position 4). The writer reloads (version 3) and saves
      // version 4 again: the stale intent must never be completed on top of it.
      const reloaded = await writer.get(TestAccount, 'lossy');
      expect(reloaded.version).toBe(3);
      reloaded.deposit(20);
      await writer.save(reloaded);
      // Other saves take the next positions, and go on.
      const other = repo(fs);
      for (const id of ['new-1', 'new-2', 'new-3']) {
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
      expect(fresh.map((x) => `${x.aggregateId}@${x.firstVersion}`)).toEqual([
        'lossy@1',
        'lossy@2',
        'lossy@3',
        'lossy@4',
        'new-1@1',
        'new-2@1',
        'new-3@1',
      ]);
      const final = await repo(fs).get(TestAccount, 'lossy');
      expect([final.version, final.balance]).toEqual([4, 1 + 2 + 20]);
    },
    timeout,
  );

  it(
    'a log entry missing while the one after it exists is reported, not skipped',
    async () => {
      const fs = await open();
      const writer = repo(fs);
      for (const id of ['h-1', 'h-2', 'h-3']) {
        const c = new TestAccount(id);
        c.open(id);
        await writer.save(c);
      }
      await fs.delete(entryPath(2));
      const error = await failure(collect(repo(fs).feed.read()));
      expect(isEvsrcError(error, ErrorCode.FeedIntegrity), String(error)).toBe(true);
      expect(error).toMatchObject({ position: 2 });
    },
    timeout,
  );
}
