import { InMemoryFileSystem, Repository } from '@evsrc/core';
import { describe, expect, it } from 'vitest';
import { balances } from '../src/balances.js';
import { BankAccount, bankAccounts } from '../src/bank-account.js';
import { transfer } from '../src/transfer.js';

const open = (fileSystem = new InMemoryFileSystem()) =>
  new Repository({ fileSystem, aggregates: [bankAccounts], feed: true });

describe('the balance list (a projection of the change feed)', () => {
  it('agrees with the accounts, counts each save once across restarts, and rebuilds to the same list', async () => {
    const repository = open();
    await repository.save(BankAccount.open('a', 'Ada', 100));
    await repository.save(BankAccount.open('b', 'Bob'));
    await repository.execute(BankAccount, 'a', (acc) => acc.deposit(40));
    await transfer(repository, 't1', 'a', 'b', 25);
    const list = balances(repository);
    expect(await list.catchUp()).toBe(5);
    expect(list.state).toEqual({ a: { owner: 'Ada', balance: 15 }, b: { owner: 'Bob', balance: 25 } });

    // A new process: more saves, a conflict, and a list loaded from the store.
    await transfer(repository, 't2', 'b', 'a', 5);
    const x = await repository.get(BankAccount, 'a');
    const y = await repository.get(BankAccount, 'a');
    x.withdraw(1);
    y.withdraw(2);
    await repository.save(x);
    await expect(repository.save(y)).rejects.toMatchObject({ code: 'EVSRC_CONCURRENCY' });
    const restarted = balances(repository);
    expect(await restarted.catchUp()).toBe(3);
    const [a, b] = [await repository.get(BankAccount, 'a'), await repository.get(BankAccount, 'b')];
    expect(restarted.state).toEqual({
      a: { owner: 'Ada', balance: a.balance },
      b: { owner: 'Bob', balance: b.balance },
    });
    expect(a.balance).toBe(19);

    const rebuilt = balances(repository);
    expect(await rebuilt.rebuild()).toBe(8);
    expect(rebuilt.state).toEqual(restarted.state);
  });
});
