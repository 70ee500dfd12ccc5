import { Aggregate, aggregateType, ChangeEvent } from '@evsrc/core';

/** Thrown by a command that would take an account past its overdraft limit. */
export class InsufficientFunds extends Error {
  constructor(
    readonly accountId: string,
    readonly requested: number,
    readonly available: number,
  ) {
    super(`Account ${accountId}: cannot withdraw ${requested}, only ${available} available`);
  }
}

/** A bank account: opened once, then deposits and withdrawals within an overdraft limit. */
export class BankAccount extends Aggregate {
  static readonly type = 'bank-account';
  owner = '';
  balance = 0;
  overdraftLimit = 0;
  /** Ids of the transfers this account took part in: a repeated step is a no-op. */
  transfers: string[] = [];

  /** Opens a new account. */
  static open(id: string, owner: string, overdraftLimit = 0): BankAccount {
    const account = new BankAccount(id);
    account.raise(new AccountOpened(owner, overdraftLimit));
    return account;
  }

  /** Puts money in. */
  deposit(amount: number): void {
    if (!(amount > 0)) throw new RangeError('A deposit must be positive');
    this.raise(new MoneyDeposited(amount));
  }

  /** Takes money out, within the overdraft limit. */
  withdraw(amount: number): void {
    if (!(amount > 0)) throw new RangeError('A withdrawal must be positive');
    const available = this.balance + this.overdraftLimit;
    if (amount > available) throw new InsufficientFunds(this.id, amount, available);
    this.raise(new MoneyWithdrawn(amount));
  }

  /** Sends money to another account (first step of a transfer); does nothing if already done. */
  sendTransfer(transferId: string, to: string, amount: number): void {
    if (this.transfers.includes(transferId)) return;
    if (!(amount > 0)) throw new RangeError('A transfer must be positive');
    if (to === this.id) throw new RangeError('Cannot transfer to the same account');
    const available = this.balance + this.overdraftLimit;
    if (amount > available) throw new InsufficientFunds(this.id, amount, available);
    this.raise(new TransferSent(transferId, to, amount));
  }

  /** Receives money from another account (second step); does nothing if already done. */
  receiveTransfer(transferId: string, from: string, amount: number): void {
    if (this.transfers.includes(transferId)) return;
    this.raise(new TransferReceived(transferId, from, amount));
  }

  /** Gives back a sent transfer the other account could not receive. */
  reverseTransfer(transferId: string, amount: number): void {
    if (this.transfers.includes(`${transferId}:reversed`)) return;
    this.raise(new TransferReversed(transferId, amount));
  }
}

/** The account was opened. */
export class AccountOpened extends ChangeEvent<BankAccount> {
  static readonly type = 'account-opened';
  constructor(
    readonly owner: string,
    readonly overdraftLimit: number,
  ) {
    super();
  }
  applyOn(account: BankAccount): void {
    account.owner = this.owner;
    account.overdraftLimit = this.overdraftLimit;
  }
}

/** Money was deposited. */
export class MoneyDeposited extends ChangeEvent<BankAccount> {
  static readonly type = 'money-deposited';
  constructor(readonly amount: number) {
    super();
  }
  applyOn(account: BankAccount): void {
    account.balance += this.amount;
  }
}

/** Money was withdrawn. */
export class MoneyWithdrawn extends ChangeEvent<BankAccount> {
  static readonly type = 'money-withdrawn';
  constructor(readonly amount: number) {
    super();
  }
  applyOn(account: BankAccount): void {
    account.balance -= this.amount;
  }
}

/** Money left for another account. */
export class TransferSent extends ChangeEvent<BankAccount> {
  static readonly type = 'transfer-sent';
  constructor(
    readonly transferId: string,
    readonly to: string,
    readonly amount: number,
  ) {
    super();
  }
  applyOn(account: BankAccount): void {
    account.balance -= this.amount;
    account.transfers.push(this.transferId);
  }
}

/** Money arrived from another account. */
export class TransferReceived extends ChangeEvent<BankAccount> {
  static readonly type = 'transfer-received';
  constructor(
    readonly transferId: string,
    readonly from: string,
    readonly amount: number,
  ) {
    super();
  }
  applyOn(account: BankAccount): void {
    account.balance += this.amount;
    account.transfers.push(this.transferId);
  }
}

/** A sent transfer came back: the other account could not take it. */
export class TransferReversed extends ChangeEvent<BankAccount> {
  static readonly type = 'transfer-reversed';
  constructor(
    readonly transferId: string,
    readonly amount: number,
  ) {
    super();
  }
  applyOn(account: BankAccount): void {
    account.balance += this.amount;
    account.transfers.push(`${this.transferId}:reversed`);
  }
}

/** How the repository learns about bank accounts: their events, and a snapshot every 50 events. */
export const bankAccounts = aggregateType(BankAccount, {
  events: [AccountOpened, MoneyDeposited, MoneyWithdrawn, TransferSent, TransferReceived, TransferReversed],
  snapshots: { every: 50 },
});

/** Every aggregate type of the example, e.g. for `evsrc verify --aggregates dist/bank-account.js`. */
export const aggregates = [bankAccounts];
