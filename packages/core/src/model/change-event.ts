import type { Aggregate } from './aggregate.js';

/**
 * A change to an aggregate. Subclass it once per kind of change, give the class a static
 * `type` name (what is stored), keep the event's data in public fields, and say in
 * `applyOn` how the change moves the aggregate's state.
 *
 * @example
 * ```ts
 * class Deposited extends ChangeEvent<Account> {
 *   static readonly type = 'deposited';
 *   constructor(readonly amount: number) { super(); }
 *   applyOn(account: Account) { account.balance += this.amount; }
 * }
 * ```
 *
 * Stored form: the payload is `toPayload()` (by default the event's own enumerable
 * fields); reading it back creates an instance of the registered class without calling
 * its constructor and copies the payload's fields onto it, unless the class defines a
 * static `fromPayload`.
 */
export abstract class ChangeEvent<A extends Aggregate = Aggregate> {
  /** Moves `aggregate`'s state by this change. Must be deterministic and must not throw for stored events. */
  abstract applyOn(aggregate: A): void;

  /** The plain data stored for this event. Override for fields that need converting. */
  toPayload(): unknown {
    return { ...this };
  }
}

/** The constructor of a {@link ChangeEvent} subclass, with its stored type name. */
export interface ChangeEventClass<E extends ChangeEvent = ChangeEvent> {
  /** The name stored in files; unique among the events of one aggregate type. */
  readonly type: string;
  // biome-ignore lint/suspicious/noExplicitAny: any constructor signature is accepted.
  new (...args: any[]): E;
  /** Optional: builds the event from its stored payload (default: copy fields onto a bare instance). */
  fromPayload?(payload: unknown): E;
}

/** Copies an object's own enumerable fields onto `target` without invoking setters (no `__proto__` tricks). */
export function copyFields(target: object, source: object): void {
  for (const key of Object.keys(source)) {
    Object.defineProperty(target, key, {
      value: (source as Record<string, unknown>)[key],
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
}
