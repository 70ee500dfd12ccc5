import { setTimeout as sleep } from 'node:timers/promises';
import { type ConcurrencyError, ErrorCode, isEvsrcError, RetriesExhaustedError } from '../errors.js';
import type { Aggregate, AggregateClass } from '../model/aggregate.js';
import { backoffDelay } from './backoff.js';
import type { ExecuteOptions, SaveOptions } from './options.js';

/** The repository calls the retry loop needs. */
export interface ExecuteTarget {
  get<A extends Aggregate>(aggregate: AggregateClass<A>, id: string): Promise<A>;
  find<A extends Aggregate>(aggregate: AggregateClass<A>, id: string): Promise<A | undefined>;
  save(aggregate: Aggregate, options?: SaveOptions): Promise<unknown>;
}

/** Load, run `command`, save; on a conflict wait and do it all again, up to `maxAttempts` (see `Repository.execute`). */
export async function execute<A extends Aggregate>(
  repository: ExecuteTarget,
  aggregate: AggregateClass<A>,
  id: string,
  command: (aggregate: A) => void | Promise<void>,
  options: ExecuteOptions,
): Promise<A> {
  const maxAttempts = options.maxAttempts ?? 5;
  const backoff = options.backoffMs ?? 5;
  const maxBackoff = options.maxBackoffMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    const current = options.create
      ? ((await repository.find(aggregate, id)) ?? new aggregate(id))
      : await repository.get(aggregate, id);
    await command(current);
    try {
      await repository.save(current, options.metadata ? { metadata: options.metadata } : {});
      return current;
    } catch (error) {
      if (!isEvsrcError(error, ErrorCode.Concurrency)) throw error;
      if (attempt >= maxAttempts) throw new RetriesExhaustedError(attempt, error as ConcurrencyError);
      await sleep(backoffDelay(attempt, backoff, maxBackoff));
    }
  }
}
