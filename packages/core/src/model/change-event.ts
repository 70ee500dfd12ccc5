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
  /**
   * The schema version of the payload (default 1), stored with each event. Raise it when
   * the payload's shape changes and register upcasters from each older version.
   */
  readonly version?: number;
  // biome-ignore lint/suspicious/noExplicitAny: any constructor signature is accepted.
  new (...args: any[]): E;
  /** Optional: builds the event from its stored payload (default: copy fields onto a bare instance). */
  fromPayload?(payload: unknown): E;
}

/** Per prototype: the keys that must not be assigned directly (an accessor or a read-only field on the chain). */
const guardedKeys = new WeakMap<object, ReadonlySet<string>>();

function guardedOf(proto: object): ReadonlySet<string> {
  let keys = guardedKeys.get(proto);
  if (!keys) {
    const found = new Set<string>(['__proto__']);
    for (let p: object | null = proto; p !== null; p = Object.getPrototypeOf(p)) {
      for (const name of Object.getOwnPropertyNames(p)) {
        const d = Object.getOwnPropertyDescriptor(p, name);
        if (d && (d.get !== undefined || d.set !== undefined || d.writable === false)) found.add(name);
      }
    }
    keys = found;
    guardedKeys.set(proto, keys);
  }
  return keys;
}

/**
 * Copies an object's own enumerable fields onto `target` as plain data properties, never
 * invoking a setter and never changing the prototype (a `__proto__` key is defined as an
 * own field). Plain assignment is used where nothing on the prototype chain is in the way
 * (worked out once per prototype): this is the hot path of every replay.
 *
 * @param fresh `target` has no own fields yet (a bare instance), so they need no check.
 */
export function copyFields(target: object, source: object, fresh = false): void {
  const proto = Object.getPrototypeOf(target) as object | null;
  const guarded = proto === null ? new Set(['__proto__']) : guardedOf(proto);
  const own = target as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const value = (source as Record<string, unknown>)[key];
    const existing = fresh || !Object.hasOwn(target, key) ? undefined : Object.getOwnPropertyDescriptor(target, key);
    if (existing ? existing.writable === true : !guarded.has(key)) {
      own[key] = value;
    } else {
      Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
    }
  }
}
