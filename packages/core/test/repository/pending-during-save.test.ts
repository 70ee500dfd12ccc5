import { setImmediate as nextTurn } from 'node:timers/promises';
import { collect, TestAccount, type TestDeposited } from '@evsrc/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { setup } from '../support/harness.js';

const amounts = async (repo: ReturnType<typeof setup>['repo'], id: string) =>
  (await collect(repo.events(TestAccount, id))).map((r) => (r.event as TestDeposited).amount ?? 0);

describe('events raised while a save is in flight (issue 15, item 1)', () => {
  it('are kept pending and stored by the next save', async () => {
    const { repo } = setup();
    const a = new TestAccount('a');
    a.open('ann');
    const first = repo.save(a);
    await nextTurn();
    a.deposit(5);
    const second = repo.save(a);
    await first;
    await second;
    expect(a.pendingEvents).toHaveLength(0);
    expect(a.storedVersion).toBe(2);
    expect((await repo.get(TestAccount, 'a')).version).toBe(2);
    expect(await amounts(repo, 'a')).toEqual([0, 5]);
  });

  it('stay pending when the save that was in flight succeeds and no other save follows', async () => {
    const { repo } = setup();
    const a = new TestAccount('a');
    a.open('ann');
    const first = repo.save(a);
    a.deposit(7); // raised synchronously after the save started
    const stored = await first;
    expect(stored.map((r) => r.version)).toEqual([1]);
    expect(a.storedVersion).toBe(1);
    expect(a.version).toBe(2);
    expect(a.pendingEvents.map((p) => (p.event as TestDeposited).amount)).toEqual([7]);
    await repo.save(a);
    expect(await amounts(repo, 'a')).toEqual([0, 7]);
  });

  it('a failed save keeps every pending event, also those raised while it ran', async () => {
    const { repo, fs } = setup();
    const a = new TestAccount('a');
    a.open('ann');
    fs.inject({ fault: 'fail', operation: 'create' });
    const first = repo.save(a);
    a.deposit(1);
    await expect(first).rejects.toMatchObject({ code: 'EVSRC_STORAGE' });
    expect(a.pendingEvents).toHaveLength(2);
    await repo.save(a);
    expect(await amounts(repo, 'a')).toEqual([0, 1]);
  });

  it('a retry recognises its earlier attempt that landed, also after more events were raised', async () => {
    const { repo, fs } = setup();
    const a = new TestAccount('a');
    a.open('ann');
    fs.inject({ fault: 'fail-after', operation: 'create' }); // the batch lands, the caller is told it failed
    await expect(repo.save(a)).rejects.toMatchObject({ code: 'EVSRC_STORAGE' });
    a.deposit(3);
    const stored = await repo.save(a);
    expect(stored.map((r) => r.version)).toEqual([1, 2]);
    expect(a.pendingEvents).toHaveLength(0);
    expect(await amounts(repo, 'a')).toEqual([0, 3]);
  });

  it('property: stored stream = raised events in order; version = stored + pending (saves that fail, or land and report failure)', async () => {
    type Fail = 'no' | 'fail' | 'fail-after';
    type Step = { kind: 'raise'; amount: number } | { kind: 'save'; fail: Fail; wait: boolean } | { kind: 'turn' };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('raise' as const), amount: fc.integer({ min: 1, max: 1000 }) }),
      fc.record({
        kind: fc.constant('save' as const),
        fail: fc.constantFrom<Fail>('no', 'fail', 'fail-after'),
        wait: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('turn' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
        const { repo, fs } = setup();
        const a = new TestAccount('p');
        const raised: number[] = [];
        const inFlight: Promise<unknown>[] = [];
        const run = async (s: Step) => {
          if (s.kind === 'raise') {
            a.deposit(s.amount);
            raised.push(s.amount);
            return;
          }
          if (s.kind === 'turn') return void (await nextTurn());
          if (s.fail !== 'no') fs.inject({ fault: s.fail, operation: 'create' });
          const p = repo.save(a).catch(() => undefined);
          if (s.wait) await p;
          else inFlight.push(p);
        };
        for (const s of steps) await run(s);
        await Promise.all(inFlight);
        fs.clear();
        const stored = await amounts(repo, 'p');
        // Whatever failed, nothing raised is lost and nothing is stored twice or out of order.
        expect(a.version).toBe(a.storedVersion + a.pendingEvents.length);
        expect(stored).toEqual(raised.slice(0, stored.length));
        // A save that landed but reported failure leaves its batch stored and its events pending.
        expect(a.storedVersion).toBeLessThanOrEqual(stored.length);
        expect(a.storedVersion + a.pendingEvents.length).toBeGreaterThanOrEqual(stored.length);
        await repo.save(a);
        expect(await amounts(repo, 'p')).toEqual(raised);
        expect(a.pendingEvents).toHaveLength(0);
      }),
      { numRuns: 200 },
    );
  });
});
