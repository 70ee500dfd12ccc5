import { type FeedBatch, Projection, type Repository } from '@evsrc/core';
import {
  AccountOpened,
  BankAccount,
  MoneyDeposited,
  MoneyWithdrawn,
  TransferReceived,
  TransferReversed,
  TransferSent,
} from './bank-account.js';

/** One line of the balance list. */
export interface BalanceLine {
  owner: string;
  balance: number;
}

/** The read model: every account's owner and balance, by account id. */
export type BalanceList = Record<string, BalanceLine>;

/** Applies one committed batch of an account to the list (each batch once, in order). */
export function applyBatch(list: BalanceList, batch: FeedBatch): BalanceList {
  const line = list[batch.aggregateId] ?? { owner: '', balance: 0 };
  list[batch.aggregateId] = line;
  for (const { event } of batch.events) {
    if (event instanceof AccountOpened) line.owner = event.owner;
    else if (
      event instanceof MoneyDeposited ||
      event instanceof TransferReceived ||
      event instanceof TransferReversed
    ) {
      line.balance += event.amount;
    } else if (event instanceof MoneyWithdrawn || event instanceof TransferSent) line.balance -= event.amount;
  }
  return list;
}

/**
 * The balance list as a projection of the store's change feed, kept in the same store
 * (`.evsrc/projections/balances/`), so that every deposit counts exactly once even when
 * the process stops half-way: `await balances(repository).catchUp()` brings it up to date.
 */
export function balances(repository: Repository): Projection<BalanceList> {
  return new Projection<BalanceList>({
    feed: repository.feed,
    fileSystem: repository.fileSystem,
    name: 'balances',
    types: [BankAccount],
    initialState: () => ({}),
    handle: applyBatch,
  });
}
