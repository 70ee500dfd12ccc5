import { ErrorCode, InMemoryFileSystem, isEvsrcError, Repository } from '@evsrc/core';
import { batchPath, MAX_VERSION, snapshotPath, storedFileCodec } from '@evsrc/core/internals';
import { collect, TestAccount, type TestDeposited, testAccountType } from '@evsrc/core/testing';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../support/harness.js';

/** A store and a repository over it that snapshots every `every` events and collects reported errors. */
function store(every?: number) {
  const fs = new InMemoryFileSystem();
  const errors: unknown[] = [];
  const repo = new Repository({ fileSystem: fs, aggregates: [testAccountType(every)], onError: (e) => errors.push(e) });
  return { fs, repo, errors };
}

/** Saves `batches` (each a list of deposits) of account `id`, after opening it in the first one. */
async function history(repo: Repository, id: string, batches: number[][]): Promise<TestAccount> {
  const a = new TestAccount(id);
  a.open('Ann');
  for (const amounts of batches) {
    for (const n of amounts) a.deposit(n);
    await repo.save(a);
  }
  return a;
}

const snapshotOf = async (fs: InMemoryFileSystem, id: string, version: number) =>
  (await fs.read(snapshotPath('test-account', id, version))) as Uint8Array;

const amounts = async (repo: Repository, id: string) =>
  (await collect(repo.events(TestAccount, id))).map((r) => (r.event as TestDeposited).amount ?? 0);

describe('a snapshot is checked against the batches (issue 15, item 3)', () => {
  it('a snapshot newer than the last batch is a loss: the load says which versions are gone, nothing is saved past them', async () => {
    const origin = store(50);
    await history(origin.repo, 'x', [Array.from({ length: 49 }, () => 1)]); // versions 1–50, snapshot at 50
    const target = store();
    await history(target.repo, 'x', [[1]]); // versions 1–2
    await target.fs.create(snapshotPath('test-account', 'x', 50), await snapshotOf(origin.fs, 'x', 50));
    const error = await errorOf(target.repo.get(TestAccount, 'x'));
    expect(isEvsrcError(error, ErrorCode.StreamIntegrity), String(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'lost', expectedVersion: 3, foundVersion: 50 });
    expect(String(error)).toContain(snapshotPath('test-account', 'x', 50));
  });

  it('a snapshot inside a batch is reported and ignored: the load replays the batches, the next save follows them', async () => {
    const origin = store(2);
    await history(origin.repo, 'y', [[5]]); // batch 1–2, snapshot at 2
    const target = store();
    await history(target.repo, 'y', [[5, 7]]); // batch 1–3
    await target.fs.create(snapshotPath('test-account', 'y', 2), await snapshotOf(origin.fs, 'y', 2));
    const loaded = await target.repo.get(TestAccount, 'y');
    expect([loaded.version, loaded.balance]).toEqual([3, 12]);
    expect(target.errors).toHaveLength(1);
    expect(isEvsrcError(target.errors[0], ErrorCode.CorruptFile)).toBe(true);
    expect(String(target.errors[0])).toContain('does not end a stored batch');
    loaded.deposit(1);
    await target.repo.save(loaded);
    expect(await target.fs.read(batchPath('test-account', 'y', 3))).toBeUndefined(); // no overlapping batch
    expect(await amounts(target.repo, 'y')).toEqual([0, 5, 7, 1]);
  });

  it('the same for a snapshot written before snapshots recorded their batch', async () => {
    const target = store();
    await history(target.repo, 'old', [[5, 7]]); // batch 1–3
    const codec = storedFileCodec();
    const state = { owner: 'Ann', balance: 5, log: [''] };
    const bytes = codec.encodeSnapshot({ type: 'test-account', id: 'old', version: 2, timestamp: 1 }, state);
    await target.fs.create(snapshotPath('test-account', 'old', 2), bytes);
    const loaded = await target.repo.get(TestAccount, 'old');
    expect([loaded.version, loaded.balance]).toEqual([3, 12]);
    expect(String(target.errors[0])).toContain('does not end a stored batch');
  });

  it('a snapshot at the largest version gives a typed error, never a RangeError', async () => {
    const target = store();
    await history(target.repo, 'big', [[1]]);
    const codec = storedFileCodec();
    const bytes = codec.encodeSnapshot({ type: 'test-account', id: 'big', version: MAX_VERSION, timestamp: 1 }, {});
    await target.fs.create(snapshotPath('test-account', 'big', MAX_VERSION), bytes);
    const error = await errorOf(target.repo.get(TestAccount, 'big'));
    expect(isEvsrcError(error, ErrorCode.StreamIntegrity), String(error)).toBe(true);
  });

  it('a snapshot whose state is not an object is reported and ignored', async () => {
    const target = store();
    await history(target.repo, 'n', [[4]]);
    const codec = storedFileCodec();
    for (const state of [null, 42, 'text', [1, 2]]) {
      target.errors.length = 0;
      const path = snapshotPath('test-account', 'n', 2);
      await target.fs.replace(
        path,
        codec.encodeSnapshot({ type: 'test-account', id: 'n', version: 2, timestamp: 1 }, state),
      );
      const loaded = await target.repo.get(TestAccount, 'n');
      expect([loaded.version, loaded.balance, loaded.owner]).toEqual([2, 4, 'Ann']);
      expect(
        isEvsrcError(target.errors[0], ErrorCode.CorruptFile),
        `${JSON.stringify(state)}: ${target.errors[0]}`,
      ).toBe(true);
    }
  });

  it('an aggregate loaded as of a version inside a batch cannot be saved (it would overlap)', async () => {
    const target = store();
    await history(target.repo, 'tt', [[1, 2, 3]]); // batch 1–4
    const past = await target.repo.get(TestAccount, 'tt', { version: 2 });
    past.deposit(9);
    const error = await errorOf(target.repo.save(past));
    expect(isEvsrcError(error, ErrorCode.Concurrency), String(error)).toBe(true);
    expect(await amounts(target.repo, 'tt')).toEqual([0, 1, 2, 3]);
    expect(past.pendingEvents).toHaveLength(1);
  });
});
