import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { type FileSystem, Repository, readFile } from '@evsrc/core';
import {
  batchPath,
  encodeEntry,
  entryPath,
  FEED_HEAD_HINT,
  FEED_MARKER,
  headHintPath,
  logFolder,
  partitionOf,
  snapshotPath,
  writeFile,
} from '@evsrc/core/internals';
import { LocalFileSystem } from '@evsrc/fs-local';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BankAccount, bankAccounts } from '../../../examples/bank/src/bank-account.js';
import { evsrc, seed, tempDir, withLinks } from './helpers.js';

// What a store that lost data looks like to `evsrc verify`: each finding names the file and
// what was lost, and the exit code is 1.

let dir: string;
let remove: () => Promise<void>;
let fileSystem: LocalFileSystem;
beforeEach(async () => {
  ({ dir, remove } = await tempDir());
  fileSystem = new LocalFileSystem({ root: dir, durable: false });
});
afterEach(() => remove());

const at = (path: string) => `${dir}/${path}`;
const bytesOf = async (fs: FileSystem, path: string) => (await fs.read(path)) as Uint8Array;
const problemsIn = (stdout: string) => stdout.trim().split('\n').filter(Boolean);
const newId = () => randomBytes(8).toString('hex');
/** Turns the feed on as evsrc did before partitions: one log directly in `.evsrc/feed/`. */
const legacyFeed = () => fileSystem.create(FEED_MARKER, new TextEncoder().encode('on\n'));

/** A batch file's bytes with some header fields changed (the body kept, checksums recomputed). */
function rewritten(path: string, bytes: Uint8Array, changes: Record<string, unknown>): Uint8Array {
  const { header, body } = readFile(path, bytes, 'batch');
  const { evsrc: _v, bytes: _b, crc32: _c, hcrc32: _h, ...fields } = header;
  return writeFile({ ...fields, ...changes } as Parameters<typeof writeFile>[0], body);
}

describe('evsrc verify on a store that lost data', () => {
  it('names the versions lost in a hole, the files around it, and the versions a snapshot proves lost', async () => {
    await seed(fileSystem, 2, 30); // batches at versions 1, 2, 4, …, 60; a snapshot at 51
    // acc-0 loses the batches of versions 10–13, between the batch at 8 and the one at 14.
    await rm(at(batchPath('bank-account', 'acc-0', 10)));
    await rm(at(batchPath('bank-account', 'acc-0', 12)));
    // acc-1 loses its last batches, from version 40 on: its snapshot at 51 is beyond them.
    for (let v = 40; v <= 60; v += 2) await rm(at(batchPath('bank-account', 'acc-1', v)));

    const result = await evsrc(['verify', dir]);
    expect(result.code).toBe(1);
    expect(problemsIn(result.stdout)).toEqual([
      `${batchPath('bank-account', 'acc-0', 14)}: version gap: expected version 10, the batch starts at 14: ` +
        `versions 10–13 were lost (between ${batchPath('bank-account', 'acc-0', 8)} and this batch)`,
      `${snapshotPath('bank-account', 'acc-1', 51)}: snapshot at version 51, beyond the last batch: versions ` +
        `40–51 were lost (the last batch, ${batchPath('bank-account', 'acc-1', 38)}, ends at version 39; the ` +
        'snapshot proves they were stored)',
    ]);
    expect(result.stderr).toMatch(/: 2 problems/);
  });

  it('names a lost first batch, and a snapshot left alone', async () => {
    await seed(fileSystem, 1, 30);
    await rm(at(batchPath('bank-account', 'acc-0', 1)));
    const onlySnapshot = new Repository({ fileSystem, aggregates: [bankAccounts] });
    const lone = BankAccount.open('lone', 'Lou');
    for (let i = 0; i < 50; i++) lone.deposit(1);
    await onlySnapshot.save(lone); // versions 1–51 in one batch, and a snapshot at 51
    await rm(at(batchPath('bank-account', 'lone', 1)));

    const problems = problemsIn((await evsrc(['verify', dir])).stdout);
    expect(problems).toEqual([
      `${batchPath('bank-account', 'acc-0', 2)}: version gap: expected version 1, the batch starts at 2: version 1 ` +
        'was lost (before this batch, the first one)',
      `${snapshotPath('bank-account', 'lone', 51)}: snapshot at version 51, beyond the last batch: versions 1–51 ` +
        'were lost (no batch is left; the snapshot proves they were stored)',
    ]);
  });

  it('finds lost, re-taken and altered log positions of the change feed, and the batches they hid', async () => {
    await legacyFeed(); // this test's paths and checkpoints are those of a feed of one log
    const repository = new Repository({ fileSystem, aggregates: [bankAccounts], feed: true });
    // One save per log entry: a1 (1), b1 (2), a2 (3), b2 (4), c1 (5), a3 (6).
    const a = BankAccount.open('a', 'Ann');
    const b = BankAccount.open('b', 'Bob');
    await repository.save(a);
    await repository.save(b);
    a.deposit(1);
    await repository.save(a);
    b.deposit(2);
    await repository.save(b);
    await repository.save(BankAccount.open('c', 'Cy'));
    a.deposit(3);
    await repository.save(a);
    // Link the entries, as writers that link them will: each names its predecessor's id.
    const ids = [newId(), newId(), newId(), newId(), newId(), newId()];
    for (let p = 1; p <= 6; p++) {
      const links = { id: ids[p - 1], ...(p > 1 ? { prev: ids[p - 2] } : {}) };
      await fileSystem.replace(entryPath(p), withLinks(await bytesOf(fileSystem, entryPath(p)), links));
    }
    const clean = await evsrc(['verify', dir]);
    expect(clean.stdout).toBe('');
    expect(clean.stderr).toContain('change feed: 6 log entries, 6 logged batches');
    expect(clean.code).toBe(0);

    // Position 3 (a's version 2) is lost.
    await rm(at(entryPath(3)));
    // Position 5 (c's version 1) is lost and taken again by another save: x's version 1, whose
    // entry names entry 4 as its predecessor; entry 6 still names the lost entry 5.
    const c1 = batchPath('bank-account', 'c', 1);
    const x1 = batchPath('bank-account', 'x', 1);
    const xBytes = rewritten(c1, await bytesOf(fileSystem, c1), { id: 'x', commit: 'retaken', feed: '5:0' });
    const retaken = encodeEntry(5, [
      { path: x1, type: 'bank-account', id: 'x', first: 1, last: 1, commit: 'retaken', bytes: xBytes },
    ]);
    const retakenId = newId();
    await fileSystem.replace(entryPath(5), withLinks(retaken, { id: retakenId, prev: ids[3] }));
    await fileSystem.create(x1, xBytes);
    // b's version 1, logged at 2:0, holds other bytes that still name 2:0.
    const b1 = batchPath('bank-account', 'b', 1);
    await fileSystem.replace(b1, rewritten(b1, await bytesOf(fileSystem, b1), { commit: 'altered' }));
    // The head hint names position 9: entries 7–9 existed.
    await fileSystem.replace(FEED_HEAD_HINT, new TextEncoder().encode('9'));

    const result = await evsrc(['verify', dir]);
    expect(result.code).toBe(1);
    const problems = problemsIn(result.stdout);
    const entry = (p: number) => entryPath(p);
    expect(problems.sort()).toEqual(
      [
        `${entry(3)}: missing: log position 3 was lost (between ${entry(2)} and ${entry(4)}); feed readers stop at ` +
          'position 3 and never read past it',
        `${entry(6)}: was written after an entry with id ${ids[4]}, but the entry at position 5 has id ` +
          `${retakenId}: ` +
          'position 5 was lost and taken again by another save (a reader that had read the lost entry never sees ' +
          'the batches logged there now)',
        `${b1}: differs from the bytes logged for it at feed checkpoint 2:0 (${entry(2)})`,
        `${FEED_HEAD_HINT}: names position 9, but the log ends at 6: log positions 7–9 were lost`,
        `${batchPath('bank-account', 'a', 2)}: names feed checkpoint 3:0, but the log entry at position 3 is ` +
          'missing: its log entry was lost, so feed readers never see this batch',
        `${c1}: names feed checkpoint 5:0, but the log entry at position 5 logs version 1 of bank-account x ` +
          'there: the entry was lost and its position taken again by another save, so feed readers never see this batch',
      ].sort(),
    );
    expect(result.stderr).toMatch(/: 6 problems/);
  });

  it('takes a lost race, a logged batch not yet committed and entries without links for what they are: no problem', async () => {
    await legacyFeed();
    const repository = new Repository({ fileSystem, aggregates: [bankAccounts], feed: true });
    await repository.save(BankAccount.open('a', 'Ann'));
    await repository.save(BankAccount.open('b', 'Bob'));
    // Position 3: a second save of a's version 1 that lost the race (the file holds the first
    // save's bytes, naming 1:0), and a save of z's version 1 whose writer died before creating
    // its file (a reader completes it).
    const a1 = batchPath('bank-account', 'a', 1);
    const loser = rewritten(a1, await bytesOf(fileSystem, a1), { commit: 'loser', feed: '3:0' });
    const z1 = batchPath('bank-account', 'z', 1);
    const zBytes = rewritten(a1, await bytesOf(fileSystem, a1), { id: 'z', commit: 'z', feed: '3:1' });
    const info = (path: string, id: string, commit: string, bytes: Uint8Array) =>
      ({ path, type: 'bank-account', id, first: 1, last: 1, commit, bytes }) as const;
    await fileSystem.create(entryPath(3), encodeEntry(3, [info(a1, 'a', 'loser', loser), info(z1, 'z', 'z', zBytes)]));

    const result = await evsrc(['verify', dir]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('1 logged batches have no batch file yet: the next feed reader completes them');
    expect(result.stderr).toContain('change feed: 3 log entries, 4 logged batches');
    expect(result.code).toBe(0);
    // Without its log, every batch that names a place in it is unaccounted for: one problem says so.
    await rm(at('.evsrc'), { recursive: true });
    const withoutFeed = await evsrc(['verify', dir]);
    expect(problemsIn(withoutFeed.stdout)).toEqual([
      `.evsrc/feed/: missing: 2 batch files name a place in the change feed (the first: ${a1} at 1:0), but the ` +
        'store has no feed: the whole log was lost',
    ]);
    expect(withoutFeed.code).toBe(1);
  });

  it("checks each partition's log of a partitioned feed, naming its paths", async () => {
    const repository = new Repository({ fileSystem, aggregates: [bankAccounts], feed: { partitions: 4 } });
    const layout = { partitions: 4, legacy: false };
    const partition = (id: string) => partitionOf('bank-account', id, 4);
    // a's three saves are positions 1–3 of its partition's log; another aggregate in another log.
    const a = BankAccount.open('a', 'Ann');
    await repository.save(a);
    a.deposit(1);
    await repository.save(a);
    a.deposit(2);
    await repository.save(a);
    const other = ['b', 'c', 'd', 'e', 'f'].find((id) => partition(id) !== partition('a')) as string;
    await repository.save(BankAccount.open(other, 'Bob'));
    const pa = partition('a');
    const fa = logFolder(layout, pa);
    const fb = logFolder(layout, partition(other));
    const clean = await evsrc(['verify', dir]);
    expect(clean.stdout).toBe('');
    expect(clean.stderr).toContain('change feed: 4 log entries, 4 logged batches in 4 partitions');
    expect(clean.code).toBe(0);

    // A hole in a's log; the other log's hint names entries it does not have; two entries
    // outside any log of this feed (a partition it does not have, the one-log folder).
    await rm(at(entryPath(2, fa)));
    await fileSystem.replace(headHintPath(fb), new TextEncoder().encode('7'));
    const strayPartition = entryPath(1, '.evsrc/feed/p007/');
    const strayOneLog = entryPath(1);
    await fileSystem.create(strayPartition, await bytesOf(fileSystem, entryPath(1, fa)));
    await fileSystem.create(strayOneLog, await bytesOf(fileSystem, entryPath(1, fa)));

    const result = await evsrc(['verify', dir]);
    expect(result.code).toBe(1);
    expect(problemsIn(result.stdout).sort()).toEqual(
      [
        `${entryPath(2, fa)}: missing: log position 2 was lost (between ${entryPath(1, fa)} and ` +
          `${entryPath(3, fa)}); feed readers stop at position 2 and never read past it`,
        `${batchPath('bank-account', 'a', 2)}: names feed checkpoint ${pa}/2:0, but the log entry at position 2 ` +
          `of partition ${pa} (${fa}) is missing (${entryPath(2, fa)}): its log entry was lost, so feed readers ` +
          'never see this batch',
        `${headHintPath(fb)}: names position 7, but the log ends at 1: log positions 2–7 were lost`,
        `${strayPartition}: not where a feed log entry belongs (this feed has partitions 0 to 3)`,
        `${strayOneLog}: not where a feed log entry belongs (this store's feed is 4 logs, in .evsrc/feed/p{NNN}/)`,
      ].sort(),
    );
    expect(result.stderr).toMatch(/: 5 problems/);
  });
});
