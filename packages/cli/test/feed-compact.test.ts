import { Repository } from '@evsrc/core';
import { LocalFileSystem } from '@evsrc/fs-local';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BankAccount, bankAccounts } from '../../../examples/bank/src/bank-account.js';
import { evsrc, tempDir } from './helpers.js';

let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir, remove } = await tempDir());
});
afterEach(() => remove());

describe('evsrc feed compact', () => {
  it('compacts the decided log entries; the feed reads the same after, and verify passes', async () => {
    const fileSystem = new LocalFileSystem({ root: dir, durable: false });
    const repository = new Repository({ fileSystem, aggregates: [bankAccounts], feed: { partitions: 2 } });
    for (let i = 0; i < 6; i++) {
      const account = BankAccount.open(`acc-${i}`, `Owner ${i}`);
      for (let n = 0; n < 4; n++) account.deposit(10);
      await repository.save(account);
      account.deposit(5);
      await repository.save(account);
    }
    const before = [];
    for await (const batch of repository.feed.read()) before.push(batch.checkpoint);
    const result = await evsrc(['feed', 'compact', dir]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/compacted 12 log entries into 2 segments: \d+ bytes → \d+/);
    const after = [];
    for await (const batch of new Repository({ fileSystem, aggregates: [bankAccounts] }).feed.read()) {
      after.push(batch.checkpoint);
    }
    expect(after).toEqual(before);
    expect(await evsrc(['feed', 'compact', dir])).toMatchObject({ code: 0 });
    const verified = await evsrc(['verify', dir]);
    expect(verified.stderr).toContain('0 problems');
    expect(verified.code).toBe(0);
    // A committed batch lost after compaction: its bytes are no longer in the log, and verify says so.
    await fileSystem.delete('bank-account/acc-3/events/000000000006.batch');
    const damaged = await evsrc(['verify', dir]);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toMatch(/acc-3\/events\/000000000006\.batch.*is gone: its compacted log entry/);
  });
});
