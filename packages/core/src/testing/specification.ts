import { AssertionError, deepStrictEqual } from 'node:assert';
import type { Aggregate, AggregateClass } from '../model/aggregate.js';
import type { ChangeEvent } from '../model/change-event.js';
import type { AggregateRegistration } from '../repository/aggregate-type.js';
import type { Repository } from '../repository/repository.js';
import { seedEvents, testRepository } from './seed.js';

/** What a command may do: change the aggregate by raising events, possibly asynchronously. */
export type Command<A extends Aggregate> = (aggregate: A) => void | Promise<void>;

/** An expected error: its class, a message pattern, or a predicate. */
export type ExpectedError = (abstract new (...args: never[]) => Error) | RegExp | ((error: unknown) => boolean);

/** The outcome of `when`, checked by one of the `then…` methods. */
export interface Outcome<A extends Aggregate> {
  /** Passes if the command raised exactly these events, in order (same classes, equal payloads). */
  thenEvents(...expected: ChangeEvent<A>[]): Promise<void>;
  /** Passes if the command raised nothing. */
  thenNothing(): Promise<void>;
  /** Passes if the command threw the expected error (and so stored nothing). */
  thenThrows(expected: ExpectedError): Promise<void>;
  /** Runs your own checks on the aggregate after the command (its events stored and loaded back). */
  thenState(check: (aggregate: A) => void | Promise<void>): Promise<void>;
}

/** A specification with its past events given. */
export interface Given<A extends Aggregate> {
  /** Runs a command on the aggregate built from the given events. */
  when(command: Command<A>): Outcome<A>;
}

/** Given/when/then specifications for one aggregate type, on an in-memory store. */
export interface AggregateSpecification<A extends Aggregate> {
  /** The aggregate's past: these events are stored first (none for a new aggregate). */
  given(...events: ChangeEvent<A>[]): Given<A>;
}

type Run<A extends Aggregate> =
  | { ok: true; raised: ChangeEvent<A>[]; repository: Repository; aggregate: AggregateClass<A>; id: string }
  | { ok: false; error: unknown };

/**
 * Given/when/then specifications for an aggregate type: given past events, when a command
 * runs, then these events (or this error). Each runs on a fresh in-memory store through
 * the real repository, so events must be registered and storable to pass.
 *
 * @example
 * ```ts
 * const spec = specification(bankAccounts);
 * await spec.given(new AccountOpened('Ada', 0)).when((a) => a.deposit(5)).thenEvents(new MoneyDeposited(5));
 * await spec.given(new AccountOpened('Ada', 0)).when((a) => a.withdraw(5)).thenThrows(InsufficientFunds);
 * ```
 */
export function specification<A extends Aggregate>(
  registration: AggregateRegistration<A>,
  options: { id?: string } = {},
): AggregateSpecification<A> {
  const id = options.id ?? 'spec-1';
  return {
    given: (...past) => ({
      when: (command) => outcome(() => run(registration, id, past, command)),
    }),
  };
}

async function run<A extends Aggregate>(
  registration: AggregateRegistration<A>,
  id: string,
  past: readonly ChangeEvent<A>[],
  command: Command<A>,
): Promise<Run<A>> {
  const { repository } = testRepository([registration as unknown as AggregateRegistration]);
  const aggregate = registration.aggregate;
  if (past.length > 0) await seedEvents(repository, aggregate, id, past);
  const current = (await repository.find(aggregate, id)) ?? new aggregate(id);
  try {
    await command(current);
  } catch (error) {
    return { ok: false, error };
  }
  const raised = current.pendingEvents.map((p) => p.event as unknown as ChangeEvent<A>);
  await repository.save(current); // proves the events are registered and storable
  return { ok: true, raised, repository, aggregate, id };
}

function outcome<A extends Aggregate>(execute: () => Promise<Run<A>>): Outcome<A> {
  const succeeded = async () => {
    const result = await execute();
    if (!result.ok) throw new AssertionError({ message: `The command threw: ${describe(result.error)}` });
    return result;
  };
  return {
    async thenEvents(...expected) {
      const { raised } = await succeeded();
      deepStrictEqual(raised.map(shape), expected.map(shape), 'The command raised other events than expected');
    },
    async thenNothing() {
      const { raised } = await succeeded();
      deepStrictEqual(raised.map(shape), [], 'The command raised events, none were expected');
    },
    async thenThrows(expected) {
      const result = await execute();
      if (result.ok) {
        throw new AssertionError({ message: `The command did not throw; it raised ${result.raised.length} event(s)` });
      }
      if (!matches(result.error, expected)) {
        throw new AssertionError({ message: `The command threw something else: ${describe(result.error)}` });
      }
    },
    async thenState(check) {
      const { repository, aggregate, id } = await succeeded();
      await check(await repository.get(aggregate, id));
    },
  };
}

/** What an event is, for comparison: its class name and stored payload. */
function shape(event: ChangeEvent): { event: string; payload: unknown } {
  return { event: event.constructor.name, payload: event.toPayload() };
}

function matches(error: unknown, expected: ExpectedError): boolean {
  if (expected instanceof RegExp) return expected.test(error instanceof Error ? error.message : String(error));
  if (typeof expected === 'function' && 'prototype' in expected && expected.prototype instanceof Error) {
    return error instanceof (expected as abstract new (...args: never[]) => Error);
  }
  if (typeof expected === 'function' && expected === Error) return error instanceof Error;
  return (expected as (error: unknown) => boolean)(error);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
