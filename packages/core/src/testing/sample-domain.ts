import { Aggregate, type RaiseOptions } from '../model/aggregate.js';
import { ChangeEvent } from '../model/change-event.js';
import { aggregateType } from '../repository/aggregate-type.js';

/** A tiny bank account used by the contract suites. */
export class TestAccount extends Aggregate {
  static readonly type: string = 'test-account';
  owner = '';
  balance = 0;
  log: string[] = [];

  open(owner: string): void {
    this.raise(new TestOpened(owner));
  }

  /** `options` sets the event's id or metadata (see {@link Aggregate.raise}). */
  deposit(amount: number, note = '', options?: RaiseOptions): void {
    this.raise(new TestDeposited(amount, note), options);
  }
}

/** The account was opened. */
export class TestOpened extends ChangeEvent<TestAccount> {
  static readonly type = 'opened';
  constructor(readonly owner: string) {
    super();
  }
  applyOn(account: TestAccount): void {
    account.owner = this.owner;
  }
}

/** Money was deposited; `note` tags who wrote it in race tests. */
export class TestDeposited extends ChangeEvent<TestAccount> {
  static readonly type = 'deposited';
  constructor(
    readonly amount: number,
    readonly note = '',
  ) {
    super();
  }
  applyOn(account: TestAccount): void {
    account.balance += this.amount;
    account.log.push(this.note);
  }
}

/** The registration of {@link TestAccount}. */
export const testAccountType = (every?: number) =>
  aggregateType(TestAccount, { events: [TestOpened, TestDeposited], ...(every ? { snapshots: { every } } : {}) });
