import { type Aggregate, type AggregateClass, internal } from '../model/aggregate.js';
import type { ChangeEvent } from '../model/change-event.js';
import type { EventRecord } from '../model/event-record.js';
import type { AggregateRegistration } from '../repository/aggregate-type.js';
import type { RepositoryOptions } from '../repository/options.js';
import { Repository } from '../repository/repository.js';
import { InMemoryFileSystem } from '../storage/in-memory.js';
import { FakeClock } from './fake-clock.js';

/** What {@link testRepository} returns. */
export interface TestRepository {
  readonly repository: Repository;
  readonly fileSystem: InMemoryFileSystem;
  readonly clock: FakeClock;
}

/**
 * A repository on a fresh in-memory file system with a {@link FakeClock}: the usual start
 * of a fast integration test.
 */
export function testRepository(
  aggregates: readonly AggregateRegistration[],
  options: Partial<Omit<RepositoryOptions, 'aggregates' | 'fileSystem'>> = {},
): TestRepository {
  const fileSystem = new InMemoryFileSystem();
  const clock = new FakeClock();
  const repository = new Repository({ fileSystem, aggregates, clock: clock.now, ...options });
  return { repository, fileSystem, clock };
}

/**
 * Stores past events of one aggregate as one batch, as if a command had raised them:
 * the "given" of a test. Returns the stored records.
 */
export async function seedEvents<A extends Aggregate>(
  repository: Repository,
  aggregate: AggregateClass<A>,
  id: string,
  events: readonly ChangeEvent<A>[],
): Promise<readonly EventRecord[]> {
  const current = (await repository.find(aggregate, id)) ?? new aggregate(id);
  for (const event of events) current[internal].raise(event as unknown as ChangeEvent);
  return repository.save(current);
}
