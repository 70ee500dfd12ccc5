import { Aggregate, aggregateType, ChangeEvent, type RaiseOptions } from '@evsrc/core';

export class Account extends Aggregate {
  static readonly type = 'account';
  owner = '';
  balance = 0;
  log: string[] = [];
  open(owner: string) {
    this.raise(new Opened(owner));
  }
  deposit(amount: number, note = '', options?: RaiseOptions) {
    this.raise(new Deposited(amount, note), options);
  }
}

export class Opened extends ChangeEvent<Account> {
  static readonly type = 'opened';
  constructor(readonly owner: string) {
    super();
  }
  applyOn(a: Account) {
    a.owner = this.owner;
    a.log.push('');
  }
}

export class Deposited extends ChangeEvent<Account> {
  static readonly type = 'deposited';
  constructor(
    readonly amount: number,
    readonly note = '',
  ) {
    super();
  }
  applyOn(a: Account) {
    a.balance += this.amount;
  }
}

export const account = (every?: number) =>
  aggregateType(Account, { events: [Opened, Deposited], ...(every ? { snapshots: { every } } : {}) });
