import { Aggregate, aggregateType, ChangeEvent, upcastEvent, upcastSnapshot } from '@evsrc/core';

class Account extends Aggregate {
  static readonly type = 'account';
  // The shape of toSnapshot() changed once: older snapshots are upcast (or, without an
  // upcaster, ignored and the state rebuilt from the events).
  static readonly snapshotVersion = 2;
  cents = 0;
}

// Version 1 stored { amount } in euros; version 2 added { currency }; version 3 stores cents.
class Deposited extends ChangeEvent<Account> {
  static readonly type = 'deposited';
  static readonly version = 3;
  constructor(
    readonly cents: number,
    readonly currency: string,
  ) {
    super();
  }
  applyOn(a: Account) {
    a.cents += this.cents;
  }
}

export const accounts = aggregateType(Account, {
  events: [Deposited],
  upcasters: [
    upcastEvent('deposited', 1, (p) => ({ ...p, currency: 'EUR' })),
    upcastEvent('deposited', 2, ({ amount, ...rest }) => ({ ...rest, cents: Math.round(Number(amount) * 100) })),
  ],
  snapshotUpcasters: [upcastSnapshot(1, (s) => ({ cents: Math.round((s as { balance: number }).balance * 100) }))],
});
console.log(accounts.upcasters?.length); // 2
