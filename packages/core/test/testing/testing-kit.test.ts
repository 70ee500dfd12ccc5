import { AssertionError } from 'node:assert';
import {
  FakeClock,
  seedEvents,
  specification,
  TestAccount,
  TestDeposited,
  TestOpened,
  testAccountType,
  testRepository,
} from '@evsrc/core/testing';
import { describe, expect, it } from 'vitest';

class Overdrawn extends Error {}
const spec = specification(testAccountType());

describe('testing kit: given/when/then', () => {
  it('passes when the command raises exactly the expected events', async () => {
    await spec
      .given(new TestOpened('Ada'))
      .when((a) => a.deposit(5, 'x'))
      .thenEvents(new TestDeposited(5, 'x'));
    await spec
      .given()
      .when((a) => a.open('Bo'))
      .thenEvents(new TestOpened('Bo'));
    await spec
      .given(new TestOpened('Ada'))
      .when(() => undefined)
      .thenNothing();
  });

  it('fails, saying why, when the events differ in class, payload, number or order', async () => {
    const cases = [
      spec
        .given(new TestOpened('Ada'))
        .when((a) => a.deposit(5))
        .thenEvents(new TestDeposited(6)),
      spec
        .given(new TestOpened('Ada'))
        .when((a) => a.deposit(5))
        .thenEvents(new TestOpened('Ada')),
      spec
        .given(new TestOpened('Ada'))
        .when((a) => a.deposit(5))
        .thenEvents(),
      spec
        .given(new TestOpened('Ada'))
        .when((a) => {
          a.deposit(1);
          a.deposit(2);
        })
        .thenEvents(new TestDeposited(2), new TestDeposited(1)),
      spec
        .given(new TestOpened('Ada'))
        .when((a) => a.deposit(1))
        .thenNothing(),
    ];
    for (const c of cases) {
      const error = await c.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AssertionError);
      // Why: the message says what went wrong and shows the difference; the error carries both sides.
      const { message, actual, expected } = error as AssertionError;
      expect(message).toMatch(/^The command raised (other events than expected|events, none were expected)\n/);
      expect(message).toContain('+ actual - expected');
      expect(actual).not.toEqual(expected);
    }
  });

  it('checks thrown errors by class, message or predicate, and fails when nothing was thrown', async () => {
    const failing = (a: TestAccount) => {
      if (a.balance < 10) throw new Overdrawn('balance too low');
      a.deposit(-10);
    };
    await spec.given(new TestOpened('Ada')).when(failing).thenThrows(Overdrawn);
    await spec
      .given(new TestOpened('Ada'))
      .when(failing)
      .thenThrows(/too low/);
    await spec
      .given(new TestOpened('Ada'))
      .when(failing)
      .thenThrows((e) => e instanceof Overdrawn);
    await expect(spec.given(new TestOpened('Ada')).when(failing).thenThrows(RangeError)).rejects.toBeInstanceOf(
      AssertionError,
    );
    await expect(
      spec.given(new TestOpened('Ada'), new TestDeposited(20)).when(failing).thenThrows(Overdrawn),
    ).rejects.toThrow(/did not throw/);
    await expect(spec.given(new TestOpened('Ada')).when(failing).thenEvents()).rejects.toThrow(
      /threw: Error: balance too low/,
    );
  });

  it('lets you check the state after the events were stored and loaded back', async () => {
    await spec
      .given(new TestOpened('Ada'), new TestDeposited(3))
      .when((a) => a.deposit(4))
      .thenState((a) => {
        expect([a.owner, a.balance, a.version, a.storedVersion]).toEqual(['Ada', 7, 3, 3]);
      });
  });
});

describe('testing kit: fake clock and seeding', () => {
  it('stamps events with the fake time and supports time travel', async () => {
    const { repository, clock } = testRepository([testAccountType()]);
    await seedEvents(repository, TestAccount, 'a', [new TestOpened('Ada')]);
    clock.advance(1_000);
    await seedEvents(repository, TestAccount, 'a', [new TestDeposited(5), new TestDeposited(6)]);
    const records = [];
    for await (const r of repository.events(TestAccount, 'a')) records.push(r.timestamp);
    expect(records).toEqual([Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 1_000, Date.UTC(2026, 0, 1) + 1_000]);
    expect((await repository.get(TestAccount, 'a', { timestamp: Date.UTC(2026, 0, 1) })).balance).toBe(0);
    expect((await repository.get(TestAccount, 'a')).balance).toBe(11);
  });

  it('never moves backwards', () => {
    const clock = new FakeClock(10);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(clock.now()).toBe(10);
  });
});
