import { specification, testRepository } from '@evsrc/core/testing';
import { describe, expect, it } from 'vitest';
import {
  AccountOpened,
  BankAccount,
  bankAccounts,
  InsufficientFunds,
  MoneyDeposited,
  TransferReceived,
  TransferReversed,
  TransferSent,
} from '../src/bank-account.js';
import { transfer } from '../src/transfer.js';

const account = specification(bankAccounts);

describe('bank account rules (given/when/then)', () => {
  it('sends a transfer within the overdraft limit', () =>
    account
      .given(new AccountOpened('Ada', 50), new MoneyDeposited(20))
      .when((a) => a.sendTransfer('t1', 'acc-b', 70))
      .thenEvents(new TransferSent('t1', 'acc-b', 70)));

  it('refuses a transfer past the overdraft limit', () =>
    account
      .given(new AccountOpened('Ada', 50), new MoneyDeposited(20))
      .when((a) => a.sendTransfer('t1', 'acc-b', 71))
      .thenThrows(InsufficientFunds));

  it('does not send or receive the same transfer twice', async () => {
    await account
      .given(new AccountOpened('Ada', 0), new MoneyDeposited(20), new TransferSent('t1', 'b', 5))
      .when((a) => a.sendTransfer('t1', 'b', 5))
      .thenNothing();
    await account
      .given(new AccountOpened('Bo', 0), new TransferReceived('t1', 'a', 5))
      .when((a) => a.receiveTransfer('t1', 'a', 5))
      .thenNothing();
  });

  it('gives a reversed transfer back', () =>
    account
      .given(new AccountOpened('Ada', 0), new MoneyDeposited(20), new TransferSent('t1', 'b', 5))
      .when((a) => a.reverseTransfer('t1', 5))
      .thenState((a) => expect(a.balance).toBe(20)));
});

describe('transfer between two accounts', () => {
  const setup = async () => {
    const { repository } = testRepository([bankAccounts]);
    await repository.save(
      (() => {
        const a = BankAccount.open('a', 'Ada', 0);
        a.deposit(100);
        return a;
      })(),
    );
    await repository.save(BankAccount.open('b', 'Bo'));
    return repository;
  };

  it('moves the money once, even when the whole transfer runs again', async () => {
    const repository = await setup();
    expect(await transfer(repository, 't1', 'a', 'b', 30)).toBe('done');
    expect(await transfer(repository, 't1', 'a', 'b', 30)).toBe('done');
    expect((await repository.get(BankAccount, 'a')).balance).toBe(70);
    expect((await repository.get(BankAccount, 'b')).balance).toBe(30);
  });

  it('gives the money back when the receiver does not exist', async () => {
    const repository = await setup();
    expect(await transfer(repository, 't2', 'a', 'nobody', 40)).toBe('reversed');
    expect((await repository.get(BankAccount, 'a')).balance).toBe(100);
    const events = [];
    for await (const r of repository.events(BankAccount, 'a')) events.push(r.event);
    expect(events.at(-1)).toBeInstanceOf(TransferReversed);
  });

  it('keeps money whole under concurrent transfers both ways', async () => {
    const repository = await setup();
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2
          ? transfer(repository, `x${i}`, 'a', 'b', 5)
          : transfer(repository, `y${i}`, 'b', 'a', 1).catch((e: unknown) => {
              if (!(e instanceof InsufficientFunds)) throw e;
              return 'refused' as const;
            }),
      ),
    );
    const [a, b] = [await repository.get(BankAccount, 'a'), await repository.get(BankAccount, 'b')];
    expect(a.balance + b.balance).toBe(100);
    // Every a → b transfer went through; each b → a one went through or was refused (b may be empty).
    const toB = outcomes.filter((_, i) => i % 2 === 1);
    const toA = outcomes.filter((_, i) => i % 2 === 0);
    expect(toB).toEqual(Array.from({ length: 5 }, () => 'done'));
    for (const o of toA) expect(['done', 'refused']).toContain(o);
    const received = toA.filter((o) => o === 'done').length;
    expect(b.balance).toBe(5 * 5 - received);
  });
});
