import { ConcurrencyError, ErrorCode, type EventRecord, isEvsrcError, Repository, StorageError } from '@evsrc/core';
import { backoffDelay, batchPath, snapshotPath, writeFile } from '@evsrc/core/internals';
import { TestAccount, TestDeposited, TestOpened, testAccountType } from '@evsrc/core/testing';
import { describe, expect, it } from 'vitest';
import { errorOf, setup } from '../support/harness.js';

describe('Repository', () => {
  it('keeps pending events when a save fails, and tells observers nothing until they are stored', async () => {
    const { fs, repo } = setup();
    const a = new TestAccount('a');
    const heard: EventRecord[] = [];
    a.subscribe((r) => heard.push(r));
    a.open('Ann');
    // A raw backend error (not a StorageError): the repository types it, naming the file.
    fs.inject({ operation: 'create', path: /events/, fault: 'fail', error: () => new Error('ECONNRESET') });
    const err = await errorOf(repo.save(a));
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).path).toBe(batchPath('test-account', 'a', 1));
    expect(a.pendingEvents).toHaveLength(1);
    expect(heard).toEqual([]);
    await repo.save(a);
    expect(heard.map((r) => [r.version, r.type, r.aggregateId])).toEqual([[1, 'opened', 'a']]);
    expect(a.pendingEvents).toHaveLength(0);
  });

  it('recognises a retried save whose first attempt landed but reported failure (commit id)', async () => {
    const { fs, repo } = setup();
    const a = new TestAccount('a');
    const heard: number[] = [];
    a.subscribe((r) => heard.push(r.version));
    a.open('Ann');
    a.deposit(5);
    fs.inject({ operation: 'create', path: /events/, fault: 'fail-after' });
    await expect(repo.save(a)).rejects.toBeInstanceOf(StorageError);
    expect(a.pendingEvents).toHaveLength(2);
    const records = await repo.save(a);
    expect(records.map((r) => r.version)).toEqual([1, 2]);
    expect(heard).toEqual([1, 2]);
    const events: number[] = [];
    for await (const r of repo.events(TestAccount, 'a')) events.push(r.version);
    expect(events).toEqual([1, 2]);
    a.deposit(1);
    await repo.save(a);
    expect((await repo.get(TestAccount, 'a')).balance).toBe(6);
  });

  it('keeps refusing a stale object after a conflict: no lost update', async () => {
    const { repo } = setup();
    const a = new TestAccount('s');
    a.open('S');
    await repo.save(a);
    const stale = await repo.get(TestAccount, 's');
    const fresh = await repo.get(TestAccount, 's');
    fresh.deposit(10);
    await repo.save(fresh);
    stale.deposit(1);
    await expect(repo.save(stale)).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(repo.save(stale)).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await repo.get(TestAccount, 's')).balance).toBe(10);
  });

  it('does not take another writer’s batch for its own retry', async () => {
    const { fs, repo } = setup();
    const a = new TestAccount('a');
    a.open('Ann');
    await repo.save(a);
    const other = await repo.get(TestAccount, 'a');
    a.deposit(1);
    fs.inject({ operation: 'create', path: /events/, fault: 'fail' }); // fails before reaching the store
    await expect(repo.save(a)).rejects.toBeInstanceOf(StorageError);
    other.deposit(100);
    await repo.save(other);
    const err = await errorOf(repo.save(a));
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect(err).toMatchObject({ expectedVersion: 1, actualVersion: 2 });
    expect(a.pendingEvents).toHaveLength(1);
  });

  it('never fails a save because its snapshot could not be written, and reports it', async () => {
    const { fs, repo, errors } = setup({ aggregates: [testAccountType(2)] });
    const a = new TestAccount('a');
    a.open('Ann');
    a.deposit(1);
    fs.inject({ operation: 'create', path: /snapshots/, fault: 'fail' });
    await repo.save(a);
    expect(a.storedVersion).toBe(2);
    expect(errors).toHaveLength(1);
    expect(await fs.read(snapshotPath('test-account', 'a', 2))).toBeUndefined();
  });

  it('falls back to the events when a snapshot is corrupt, and reports it', async () => {
    const { mem, repo, errors } = setup({ aggregates: [testAccountType(2)] });
    const a = new TestAccount('a');
    a.open('Ann');
    a.deposit(7);
    await repo.save(a);
    const path = snapshotPath('test-account', 'a', 2);
    const bytes = (await mem.read(path)) as Uint8Array;
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ 0xff;
    await mem.replace(path, bytes);
    const b = await repo.get(TestAccount, 'a');
    expect([b.balance, b.version]).toEqual([7, 2]);
    expect(isEvsrcError(errors[0], ErrorCode.CorruptFile)).toBe(true);
  });

  it('reports a gap, an overlap and a misplaced file with typed errors naming the files', async () => {
    const { mem, repo } = setup();
    for (const id of ['g', 'h']) {
      const a = new TestAccount(id);
      a.open(id);
      await repo.save(a);
      a.deposit(1);
      a.deposit(2);
      await repo.save(a);
      a.deposit(3);
      await repo.save(a);
    }
    await mem.delete(batchPath('test-account', 'g', 2));
    const gap = await errorOf(repo.get(TestAccount, 'g'));
    expect(gap).toMatchObject({
      code: ErrorCode.StreamIntegrity,
      kind: 'gap',
      path: batchPath('test-account', 'g', 4),
    });
    expect(String(gap)).toContain(batchPath('test-account', 'g', 1));

    // A valid batch of aggregate h copied to g's version 2 slot: wrong aggregate.
    await mem.create(
      batchPath('test-account', 'g', 2),
      (await mem.read(batchPath('test-account', 'h', 2))) as Uint8Array,
    );
    const misplaced = await errorOf(repo.get(TestAccount, 'g'));
    expect(misplaced).toMatchObject({ code: ErrorCode.MisplacedFile, path: batchPath('test-account', 'g', 2) });

    // A batch at version 3 while the batch at 2 covers 2..3: overlap.
    const h3 = writeFile(
      { kind: 'batch', parser: 'json', type: 'test-account', id: 'h', first: 3, last: 3, commit: 'x' },
      new TextEncoder().encode('[{"type":"deposited","timestamp":1,"payload":{"amount":1}}]'),
    );
    await mem.create(batchPath('test-account', 'h', 3), h3);
    expect(await errorOf(repo.get(TestAccount, 'h'))).toMatchObject({
      code: ErrorCode.StreamIntegrity,
      kind: 'overlap',
    });
  });

  it('reads files of both parsers in one stream, and refuses an unknown parser by name', async () => {
    const { mem, repo } = setup();
    const packed = new Repository({ fileSystem: mem, aggregates: [testAccountType()], format: 'msgpack' });
    const a = new TestAccount('m');
    a.open('Mo');
    await repo.save(a);
    a.deposit(4);
    await packed.save(a);
    expect(new TextDecoder().decode((await mem.read(batchPath('test-account', 'm', 2))) as Uint8Array)).toContain(
      '"parser":"msgpack"',
    );
    for (const r of [repo, packed]) expect((await r.get(TestAccount, 'm')).balance).toBe(4);
    await mem.create(
      batchPath('test-account', 'm', 3),
      writeFile(
        { kind: 'batch', parser: 'xml', type: 'test-account', id: 'm', first: 3, last: 3, commit: 'c' },
        new Uint8Array(1),
      ),
    );
    const err = await errorOf(repo.get(TestAccount, 'm'));
    expect(err).toMatchObject({ code: ErrorCode.UnsupportedFormat, path: batchPath('test-account', 'm', 3) });
  });

  it('gives a typed error naming the file for an event type it does not know', async () => {
    const { mem, repo } = setup();
    const body = new TextEncoder().encode('[{"type":"closed","timestamp":1,"payload":{}}]');
    await mem.create(
      batchPath('test-account', 'u', 1),
      writeFile({ kind: 'batch', parser: 'json', type: 'test-account', id: 'u', first: 1, last: 1, commit: 'c' }, body),
    );
    const err = await errorOf(repo.get(TestAccount, 'u'));
    expect(err).toMatchObject({
      code: ErrorCode.UnknownEventType,
      eventType: 'closed',
      path: batchPath('test-account', 'u', 1),
    });
  });

  it('refuses an aggregate class it was not given', async () => {
    const { repo } = setup({ aggregates: [] });
    await expect(repo.get(TestAccount, 'x')).rejects.toSatisfy((e) => isEvsrcError(e, ErrorCode.UnknownAggregateType));
  });

  it('retries commands on conflicts until every one of them is stored once', async () => {
    const { repo } = setup();
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        repo.execute(TestAccount, 'hot', (acc) => (acc.version === 0 ? acc.open(`w${i}`) : acc.deposit(1)), {
          create: true,
          maxAttempts: 50,
          backoffMs: 1,
        }),
      ),
    );
    const versions: number[] = [];
    for await (const r of repo.events(TestAccount, 'hot')) versions.push(r.version);
    expect(versions).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await repo.get(TestAccount, 'hot')).balance).toBe(5);
  });

  it('gives up with a typed error after its last attempt', async () => {
    const { repo } = setup();
    const a = new TestAccount('busy');
    a.open('B');
    await repo.save(a);
    const err = await errorOf(
      repo.execute(
        TestAccount,
        'busy',
        async (acc) => {
          const rival = await repo.get(TestAccount, 'busy');
          rival.deposit(1);
          await repo.save(rival);
          acc.deposit(1);
        },
        { maxAttempts: 3, backoffMs: 0 },
      ),
    );
    expect(err).toMatchObject({ code: ErrorCode.RetriesExhausted, attempts: 3 });
  });

  it('doubles the back-off from backoffMs, caps it at maxBackoffMs, and spreads it by 0.5-1.5x', () => {
    const at = (attempt: number, random: number) => backoffDelay(attempt, 5, 1000, () => random);
    expect([1, 2, 3, 4].map((n) => at(n, 0.5))).toEqual([5, 10, 20, 40]);
    expect(at(8, 0.5)).toBe(640);
    expect(at(9, 0.5)).toBe(1000); // 1,280 capped
    expect(at(50, 0.5)).toBe(1000);
    expect(at(3, 0)).toBe(10);
    expect(at(3, 0.999)).toBeCloseTo(29.98);
  });

  it('never serves a cached aggregate stale, across writers and after a conflict', async () => {
    const { mem } = setup();
    const cached = new Repository({ fileSystem: mem, aggregates: [testAccountType()], cache: true });
    const plain = new Repository({ fileSystem: mem, aggregates: [testAccountType()] });
    const a = new TestAccount('c');
    a.open('Cy');
    await cached.save(a);
    const b = await plain.get(TestAccount, 'c');
    b.deposit(10);
    await plain.save(b);
    expect((await cached.get(TestAccount, 'c')).balance).toBe(10);
    a.deposit(1); // a is stale: conflicts
    await expect(cached.save(a)).rejects.toBeInstanceOf(ConcurrencyError);
    const fresh = await cached.get(TestAccount, 'c');
    expect([fresh.balance, fresh.version]).toEqual([10, 2]);
    fresh.log.push('mutated outside');
    expect((await cached.get(TestAccount, 'c')).log).toEqual(['']);
  });

  it('stores metadata and event ids, and keeps timestamps from going backwards', async () => {
    let now = 5_000;
    const { repo } = setup({ clock: () => now });
    const a = new TestAccount('t');
    a.open('T');
    await repo.save(a, { metadata: { correlationId: 'corr-1' } });
    now = 1_000; // the clock went back
    a.deposit(1, 'n', { eventId: 'ev-2', metadata: { causationId: 'cmd-9' } });
    await repo.save(a, { metadata: { correlationId: 'corr-2' } });
    const records: EventRecord[] = [];
    for await (const r of repo.events(TestAccount, 't')) records.push(r);
    expect(records.map((r) => r.timestamp)).toEqual([5_000, 5_000]);
    expect(records[0]?.metadata).toEqual({ correlationId: 'corr-1' });
    expect(records[1]).toMatchObject({ eventId: 'ev-2', metadata: { correlationId: 'corr-2', causationId: 'cmd-9' } });
    expect(records[1]?.event).toBeInstanceOf(TestDeposited);
    expect(records[0]?.event).toBeInstanceOf(TestOpened);
  });

  it('reads a range of events, and saving nothing writes nothing', async () => {
    const { mem, repo } = setup();
    const a = new TestAccount('r');
    a.open('R');
    for (let i = 1; i <= 9; i++) {
      a.deposit(i);
      if (i % 3 === 0) await repo.save(a);
    }
    expect(await repo.save(a)).toEqual([]);
    const seen: number[] = [];
    for await (const r of repo.events(TestAccount, 'r', { fromVersion: 3, toVersion: 6 })) seen.push(r.version);
    expect(seen).toEqual([3, 4, 5, 6]);
    expect(mem.size).toBe(3);
  });

  it('saves one object twice at once without writing or notifying twice', async () => {
    const { repo } = setup();
    const a = new TestAccount('d');
    let heard = 0;
    a.subscribe(() => heard++);
    a.open('D');
    const [first, second] = await Promise.all([repo.save(a), repo.save(a)]);
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(0);
    expect(heard).toBe(1);
  });
});
