import { expect, it } from 'vitest';
import { ErrorCode } from '../../errors.js';
import { decodeEntry, encodeEntry, type LoggedBatch } from '../../feed/entry.js';
import type { FeedBatch } from '../../feed/feed.js';
import { batchPath } from '../../format/layout.js';
import { collect } from '../collect.js';
import { FaultyFileSystem } from '../faulty-file-system.js';
import { TestAccount } from '../sample-domain.js';
import { entryOf, expectBatches, type FeedHarness, idIn, keys, partitionOfAccount } from './harness.js';

/** Writers that die or stall after logging: no hole, no skip, and nothing forged is ever written. */
export function rollForwardTests(h: FeedHarness): void {
  const { layout } = h.variant;
  it(
    'a writer that dies after logging its batch leaves no hole: a reader completes the batch, and its retry finds it landed',
    async () => {
      const fs = await h.open();
      const faulty = new FaultyFileSystem(fs);
      const writer = h.repo(faulty);
      const account = new TestAccount('crash');
      account.open('Ann');
      await writer.save(account);
      account.deposit(9, 'in doubt');
      // The batch is logged, then its create never reaches the store ("the process died").
      faulty.inject({ operation: 'create', path: /\/events\//, fault: 'fail' });
      await expect(writer.save(account)).rejects.toMatchObject({ code: ErrorCode.Storage });
      expect(account.pendingEvents).toHaveLength(1);
      const other1 = h.repo(await h.other(fs));
      expect((await other1.get(TestAccount, 'crash')).version).toBe(1);
      const all = await collect(other1.feed.read());
      expect(keys(all)).toEqual(['test-account/crash/1-1', 'test-account/crash/2-2']);
      expect((await other1.get(TestAccount, 'crash')).balance).toBe(9);
      // The writer's retry recognises its own batch: no second copy, none in the feed either.
      await writer.save(account);
      expect(account.storedVersion).toBe(2);
      expect(keys(await collect(other1.feed.read()))).toEqual(keys(all));
    },
    h.timeout,
  );

  it(
    'roll-forward writes only the batch its log entry describes: logged bytes of another aggregate, version, commit or checkpoint are refused, naming the entry',
    async () => {
      // A valid batch (checksums hold) of "other", logged first in its partition, made in a scratch store.
      const scratch = await h.open();
      const o = new TestAccount('other');
      o.open('Olga');
      await h.repo(scratch).save(o);
      const made = decodeEntry(
        entryOf(layout, 'other', 1),
        (await scratch.read(entryOf(layout, 'other', 1))) as Uint8Array,
        1,
      )[0] as LoggedBatch;
      // An aggregate in other's partition, so that forged entries sit in the log where the bytes say they are.
      const x = idIn(layout, partitionOfAccount(layout, 'other'), 'x-');
      const xPath = batchPath('test-account', x, 1);
      const forgeries: { what: string; batch: LoggedBatch; position: number }[] = [
        // The entry says x's first batch; the bytes are other's. Rolled forward, x could never load again.
        { what: 'another aggregate', batch: { ...made, id: x, path: xPath }, position: 1 },
        { what: 'another last version', batch: { ...made, last: 2 }, position: 1 },
        { what: 'another commit', batch: { ...made, commit: 'forged' }, position: 1 },
        // The bytes name position 1, the entry is at 2: rolled forward, the batch would count twice.
        { what: 'another checkpoint', batch: made, position: 2 },
      ];
      for (const { what, batch, position } of forgeries) {
        const fs = await h.open();
        const r = h.repo(fs);
        if (position === 2) {
          const first = new TestAccount(idIn(layout, partitionOfAccount(layout, 'other'), 'first-'));
          first.open('Fred');
          await r.save(first);
        }
        const entry = entryOf(layout, 'other', position);
        await fs.create(entry, encodeEntry(position, [batch]));
        const error = await collect(r.feed.read()).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, what).toMatchObject({ code: ErrorCode.CorruptFile, path: entry });
        expect((error as Error).message, what).toContain(batch.path);
        // Nothing was written: the aggregate is as it was (none), and loads.
        expect(await fs.read(batch.path), what).toBeUndefined();
        await expect(r.get(TestAccount, batch.id), what).rejects.toMatchObject({
          code: ErrorCode.AggregateNotFound,
        });
      }
    },
    h.timeout,
  );

  it(
    'a slow writer: a reader never skips its batch, even when later batches are already committed',
    async () => {
      const fs = await h.open();
      const faulty = new FaultyFileSystem(fs);
      const slow = h.repo(faulty);
      const fast = h.repo(await h.other(fs));
      const s = new TestAccount('slow');
      s.open('Sam');
      faulty.inject({ operation: 'create', path: /\/events\//, fault: 'hang' });
      const slowSave = slow.save(s);
      while (faulty.hanging === 0) await new Promise((r) => setTimeout(r, 5));
      // In the slow writer's partition, so that its batch comes first in every layout.
      const f = new TestAccount(idIn(layout, partitionOfAccount(layout, 'slow'), 'fast-'));
      f.open('Fay');
      await fast.save(f);
      const reader = h.repo(await h.other(fs), { feedReading: { rollForwardAfterMs: 10_000 } });
      const seen: FeedBatch[] = [];
      const reading = (async () => {
        for await (const b of reader.feed.read()) seen.push(b);
      })();
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).toEqual([]); // waits for the slow batch rather than passing it by
      faulty.release();
      await slowSave;
      await reading;
      expectBatches(layout, seen, ['test-account/slow/1-1', `test-account/${f.id}/1-1`]);
    },
    h.timeout,
  );
}
