import { ErrorCode, InMemoryFileSystem, isEvsrcError, Repository } from '@evsrc/core';
import { describe, expect, it } from 'vitest';
import { BankAccount, bankAccounts, InsufficientFunds } from '../src/bank-account.js';

const repo = () => new Repository({ fileSystem: new InMemoryFileSystem(), aggregates: [bankAccounts] });

describe('bank account example', () => {
  it('keeps the overdraft rule and stores only what was accepted', async () => {
    const r = repo();
    const a = BankAccount.open('a', 'Ada', 50);
    a.deposit(20);
    expect(() => a.withdraw(71)).toThrow(InsufficientFunds);
    a.withdraw(70);
    await r.save(a);
    const b = await r.get(BankAccount, 'a');
    expect([b.balance, b.version, b.overdraftLimit]).toEqual([-50, 3, 50]);
  });

  it('refuses to open the same account twice', async () => {
    const r = repo();
    await r.save(BankAccount.open('dup', 'One'));
    const err = await r.save(BankAccount.open('dup', 'Two')).catch((e: unknown) => e);
    expect(isEvsrcError(err, ErrorCode.Concurrency)).toBe(true);
    expect((await r.get(BankAccount, 'dup')).owner).toBe('One');
  });
});
