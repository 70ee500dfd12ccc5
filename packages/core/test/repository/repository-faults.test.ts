import {
  ConfigurationError,
  ErrorCode,
  type EventRecord,
  InMemoryFileSystem,
  isEvsrcError,
  Repository,
  StorageError,
  TimeoutError,
} from '@evsrc/core';
import { batchPath, eventsFolder, snapshotPath } from '@evsrc/core/internals';
import { FaultyFileSystem, TestAccount, type TestDeposited, testAccountType } from '@evsrc/core/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { errorOf, setup } from '../support/harness.js';

async function versions(repo: Repository, id: string): Promise<number[]> {
  const out: number[] = [];
  for await (const r of repo.events(TestAccount, id)) out.push(r.version);
  return out;
}
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the condition never held');
}
const isTimeout = (e: unknown, op: string, path: string, ms: number) =>
  e instanceof StorageError &&
  e.operation === op &&
  e.path === path &&
  e.cause instanceof TimeoutError &&
  isEvsrcError(e.cause, ErrorCode.Timeout) &&
  e.cause.timeoutMs === ms;

describe('Repository under storage faults', () => {
  it('surfaces a failed read, listing or late-reported read while loading as a StorageError naming the file', async () => {
    const { fs, repo } = setup();
    const a = new TestAccount('r');
    a.open('R');
    await repo.save(a);
    const path = batchPath('test-account', 'r', 1);
    for (const [operation, fault] of [
      ['read', 'fail'],
      ['read', 'fail-after'],
      ['list', 'fail'],
    ] as const) {
      fs.inject({ operation, path: /events/, fault, error: () => new Error('EIO') });
      const err = await errorOf(repo.get(TestAccount, 'r'));
      expect(err, `${operation} ${fault}`).toBeInstanceOf(StorageError);
      expect((err as StorageError).path).toBe(operation === 'list' ? eventsFolder('test-account', 'r') : path);
    }
    expect((await repo.get(TestAccount, 'r')).owner).toBe('R');
  });

  it('falls back to the events when a snapshot cannot be read, and reports the StorageError', async () => {
    const { fs, repo, errors } = setup({ aggregates: [testAccountType(1)] });
    const a = new TestAccount('s');
    a.open('S');
    a.deposit(3);
    await repo.save(a);
    fs.inject({ operation: 'read', path: /snapshots/, fault: 'fail' });
    const b = await repo.get(TestAccount, 's');
    expect([b.balance, b.version]).toEqual([3, 2]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: ErrorCode.Storage, path: snapshotPath('test-account', 's', 2) });
  });

  it('recognises its landed batch even when the first retry cannot read it back', async () => {
    const { fs, mem, repo } = setup();
    const a = new TestAccount('x');
    a.open('X');
    fs.inject({ operation: 'create', path: /events/, fault: 'fail-after' });
    await expect(repo.save(a)).rejects.toBeInstanceOf(StorageError);
    fs.inject({ operation: 'read', path: /events/, fault: 'fail' });
    await expect(repo.save(a)).rejects.toMatchObject({ code: ErrorCode.Storage, operation: 'read' });
    expect(a.pendingEvents).toHaveLength(1);
    const records = await repo.save(a);
    expect(records.map((r) => r.version)).toEqual([1]);
    expect(mem.size).toBe(1);
    expect(fs.calls.filter((c) => c.operation === 'create').length).toBe(3);
  });

  it('bounds a hanging create with operationTimeoutMs; the retry recognises the late batch by its commit id', async () => {
    const { fs, mem, repo } = setup({ operationTimeoutMs: 50 });
    const a = new TestAccount('t');
    const heard: number[] = [];
    a.subscribe((r) => heard.push(r.version));
    a.open('T');
    a.deposit(4);
    fs.inject({ operation: 'create', path: /events/, fault: 'hang' });
    // The create hangs for ever: only the 50 ms bound can end the save.
    const err = await errorOf(repo.save(a));
    expect(isTimeout(err, 'create', batchPath('test-account', 't', 1), 50), String(err)).toBe(true);
    expect(String(err)).toMatch(/timed out after 50 ms/);
    expect([a.pendingEvents.length, a.storedVersion, heard.length]).toEqual([2, 0, 0]);
    // The create was only slow: it lands now, after the caller was told it failed.
    expect(fs.release()).toBe(1);
    await until(async () => (await mem.read(batchPath('test-account', 't', 1))) !== undefined);
    const records = await repo.save(a);
    expect(records.map((r) => r.version)).toEqual([1, 2]);
    expect(heard).toEqual([1, 2]);
    expect(mem.size).toBe(1);
    expect(await versions(repo, 't')).toEqual([1, 2]);
  });

  it('lets a retry win while the timed-out create still hangs; the late create then changes nothing', async () => {
    const { fs, mem, repo } = setup({ operationTimeoutMs: 30 });
    const a = new TestAccount('w');
    a.open('W');
    fs.inject({ operation: 'create', path: /events/, fault: 'hang' });
    await expect(repo.save(a)).rejects.toSatisfy((e) => isTimeout(e, 'create', batchPath('test-account', 'w', 1), 30));
    const stored = (await repo.save(a)).map((r) => r.version);
    expect(stored).toEqual([1]);
    const before = await mem.read(batchPath('test-account', 'w', 1));
    fs.release(); // the first attempt now reaches the store and finds the name taken
    await new Promise((r) => setTimeout(r, 20));
    expect(await mem.read(batchPath('test-account', 'w', 1))).toEqual(before);
    a.deposit(1);
    await repo.save(a);
    expect(await versions(repo, 'w')).toEqual([1, 2]);
  });

  it('bounds hanging reads and listings while loading, naming the file or folder', async () => {
    const { fs, repo } = setup({ operationTimeoutMs: 30 });
    const a = new TestAccount('h');
    a.open('H');
    await repo.save(a);
    fs.inject({ operation: 'read', path: /events/, fault: 'hang' });
    expect(await errorOf(repo.get(TestAccount, 'h'))).toSatisfy((e) =>
      isTimeout(e, 'read', batchPath('test-account', 'h', 1), 30),
    );
    fs.inject({ operation: 'list', path: /events/, fault: 'hang' });
    expect(await errorOf(repo.get(TestAccount, 'h'))).toSatisfy((e) =>
      isTimeout(e, 'list', eventsFolder('test-account', 'h'), 30),
    );
    fs.release();
    // Slow calls within the bound succeed (a generous bound: the machine may be busy).
    const patient = new Repository({ fileSystem: fs, aggregates: [testAccountType()], operationTimeoutMs: 2_000 });
    fs.inject({ operation: ['read', 'list'], fault: { delayMs: 40 }, times: 5 });
    expect((await patient.get(TestAccount, 'h')).owner).toBe('H');
  });

  it('leaves calls unbounded by default, and checks the option', async () => {
    const { fs, repo } = setup();
    expect(repo.fileSystem).toBe(fs);
    const a = new TestAccount('d');
    a.open('D');
    fs.inject({ operation: 'create', fault: { delayMs: 60 } });
    await repo.save(a);
    expect(a.storedVersion).toBe(1);
    for (const off of [0, Number.POSITIVE_INFINITY]) {
      expect(new Repository({ fileSystem: fs, aggregates: [], operationTimeoutMs: off }).fileSystem).toBe(fs);
    }
    for (const bad of [-1, Number.NaN, 2 ** 31, '5' as unknown as number]) {
      expect(() => new Repository({ fileSystem: fs, aggregates: [], operationTimeoutMs: bad })).toThrow(
        ConfigurationError,
      );
    }
  });
});

const figures = { runs: 0, saves: 0, attempts: 0, faults: 0 };
afterAll(() => {
  console.info(
    `chaos property: ${figures.runs} runs, ${figures.saves} saves, ${figures.attempts} save attempts, ${figures.faults} injected faults`,
  );
});

describe('Repository under random storage faults (fast-check)', () => {
  it('stores every save exactly once, in order, however creates fail, time out or report failure after landing, and reads and listings fail', {
    timeout: 120_000,
  }, async () => {
    const scenario = fc.record({
      seed: fc.integer(),
      format: fc.constantFrom('json' as const, 'msgpack' as const),
      fail: fc.double({ min: 0, max: 0.4, noNaN: true }),
      failAfter: fc.double({ min: 0, max: 0.4, noNaN: true }),
      slow: fc.constantFrom(0, 0, 0.2),
      read: fc.double({ min: 0, max: 0.4, noNaN: true }),
      list: fc.double({ min: 0, max: 0.4, noNaN: true }),
      saves: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        figures.runs++;
        const mem = new InMemoryFileSystem({ async: false });
        const fs = new FaultyFileSystem(mem, { seed: s.seed });
        fs.inject({ operation: 'create', fault: 'fail', probability: s.fail });
        fs.inject({ operation: 'create', fault: 'fail-after', probability: s.failAfter });
        fs.inject({ operation: 'create', fault: { delayMs: 6 }, probability: s.slow });
        fs.inject({ operation: 'read', fault: 'fail', probability: s.read });
        fs.inject({ operation: 'list', fault: 'fail', probability: s.list });
        const repo = new Repository({
          fileSystem: fs,
          aggregates: [testAccountType()],
          format: s.format,
          operationTimeoutMs: 3,
          onError: () => undefined,
        });
        const a = new TestAccount('chaos');
        const heard: EventRecord[] = [];
        a.subscribe((r) => heard.push(r));
        const amounts: number[] = [];
        for (const [i, count] of s.saves.entries()) {
          for (let k = 0; k < count; k++) {
            amounts.push(i * 10 + k + 1);
            a.deposit(i * 10 + k + 1);
          }
          figures.saves++;
          for (let attempt = 1; ; attempt++) {
            figures.attempts++;
            const [pending, stored] = [a.pendingEvents.length, a.storedVersion];
            const err = await errorOf(repo.save(a));
            if (err === undefined) break;
            // Only storage failures: never a conflict with itself, never a lost or doubled event.
            expect(isEvsrcError(err, ErrorCode.Storage), String(err)).toBe(true);
            expect([a.pendingEvents.length, a.storedVersion]).toEqual([pending, stored]);
            expect(attempt).toBeLessThan(100);
          }
        }
        figures.faults += fs.calls.filter((c) => c.fault !== undefined).length;
        await new Promise((r) => setTimeout(r, s.slow > 0 ? 10 : 0)); // let late creates land
        const plain = new Repository({ fileSystem: mem, aggregates: [testAccountType()] });
        const events: EventRecord[] = [];
        for await (const r of plain.events(TestAccount, 'chaos')) events.push(r);
        expect(events.map((r) => r.version)).toEqual(amounts.map((_, i) => i + 1));
        expect(events.map((r) => (r.event as TestDeposited).amount)).toEqual(amounts);
        expect(heard.map((r) => r.version)).toEqual(amounts.map((_, i) => i + 1));
        expect(mem.size).toBe(s.saves.length);
      }),
      { numRuns: 200 },
    );
  });
});
