import { ErrorCode, isEvsrcError, type Repository } from '@evsrc/core';
import { BankAccount } from './bank-account.js';

/** Each step is retried on conflicts; a busy account may need more than the default 5 attempts. */
const RETRIES = { maxAttempts: 20 };

/** How a transfer ended. */
export type TransferOutcome = 'done' | 'reversed';

/**
 * Moves money between two accounts — two aggregates, so two saves, each retried on
 * conflicts by `repository.execute`. Each step is idempotent by `transferId`, so running
 * the whole transfer again after a crash finishes it without moving money twice. If the
 * receiving account does not exist, the money goes back to the sender.
 *
 * @throws {InsufficientFunds} when the sender cannot pay (nothing is stored then).
 */
export async function transfer(
  repository: Repository,
  transferId: string,
  from: string,
  to: string,
  amount: number,
): Promise<TransferOutcome> {
  await repository.execute(BankAccount, from, (account) => account.sendTransfer(transferId, to, amount), RETRIES);
  try {
    await repository.execute(BankAccount, to, (account) => account.receiveTransfer(transferId, from, amount), RETRIES);
    return 'done';
  } catch (error) {
    if (!isEvsrcError(error, ErrorCode.AggregateNotFound)) throw error; // retry the transfer later: it is idempotent
    await repository.execute(BankAccount, from, (account) => account.reverseTransfer(transferId, amount), RETRIES);
    return 'reversed';
  }
}
