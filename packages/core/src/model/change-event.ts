import { CorruptFileError } from '../errors.js';
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
 * static `fromPayload`. The payload must be plain data (see `findPayloadProblem`), and,
 * without `fromPayload`, an object none of whose fields is named like a method or
 * property of the class (`applyOn`, `constructor`, `toString`, …): a save refuses
 * anything else with an `InvalidPayloadError`.
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

/** Per prototype: every name on its chain. */
const reservedKeys = new WeakMap<object, ReadonlySet<string>>();

/**
 * The names a payload field of an event with this prototype may not have: every property
 * name on the prototype chain (methods, accessors, `constructor`, `toString`,
 * `__proto__`, …). A copied field of such a name would hide the method or property.
 */
export function reservedNames(proto: object): ReadonlySet<string> {
  let names = reservedKeys.get(proto);
  if (!names) {
    const found = new Set<string>(['__proto__']);
    for (let p: object | null = proto; p !== null; p = Object.getPrototypeOf(p)) {
      for (const name of Object.getOwnPropertyNames(p)) found.add(name);
    }
    names = found;
    reservedKeys.set(proto, names);
  }
  return names;
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

/** Builds one event from a payload of the shape it was compiled for, or `undefined` for any other shape. */
type ShapeBuilder = (payload: object) => ChangeEvent | undefined;

/** Payload shapes compiled per event class (more go through {@link copyFields}), and keys per shape. */
const MAX_SHAPES = 16;
const MAX_SHAPE_KEYS = 64;
/** Turned off for good if the runtime forbids compiling functions (e.g. `--disallow-code-generation-from-strings`). */
let compiling = true;

/**
 * Compiles a builder for payloads whose own enumerable keys are exactly `keys`, in order.
 * The source is a fixed template that depends only on the number of keys: the key names
 * are passed in as values, never written into the code, so nothing read from a file is
 * ever evaluated. Each compiled function has its own inline caches, so its assignments
 * are as fast as hand-written ones. `null` when this shape must take the careful path.
 */
function compileShape(
  bare: new () => object,
  keys: readonly string[],
  reserved: ReadonlySet<string>,
): ShapeBuilder | null {
  if (!compiling || keys.length > MAX_SHAPE_KEYS || keys.some((k) => reserved.has(k))) return null;
  const names = keys.map((_, i) => `k${i}`);
  const source = [
    '"use strict";',
    'return function build(p) {',
    '  let i = 0;',
    // for-in also lists inherited enumerable keys: any difference from `keys` is another shape.
    '  for (const k in p) if (k !== keys[i++]) return undefined;',
    `  if (i !== ${keys.length}) return undefined;`,
    '  const e = new Bare();',
    ...names.map((n) => `  e[${n}] = p[${n}];`),
    '  return e;',
    '};',
  ].join('\n');
  try {
    // A fixed template (see above), never text from a file.
    return new Function('Bare', 'keys', ...names, source)(bare, keys, ...keys) as ShapeBuilder;
  } catch {
    compiling = false;
    return null;
  }
}

/**
 * Returns a function that builds a bare instance of `cls` (its constructor is not called)
 * holding a payload's own enumerable fields: the same result as
 * `copyFields(Object.create(cls.prototype), payload, true)`, several times faster for the
 * few payload shapes a class sees (each is compiled once, on first sight).
 *
 * A payload with a field named like anything on the class's prototype chain (see
 * {@link reservedNames}: `applyOn`, `constructor`, an accessor, `__proto__`, …) is refused
 * with a {@link CorruptFileError} naming the file (`path`) and the field: copied, the field
 * would hide the method. Compiled shapes never hold such a name, so the check costs
 * nothing on the fast path.
 */
export function eventBuilder<E extends ChangeEvent>(cls: ChangeEventClass<E>): (payload: object, path?: string) => E {
  const proto = cls.prototype as object;
  const reserved = reservedNames(proto);
  // A constructor that runs no code, whose instances get the class's prototype.
  const bare = function Bare() {} as unknown as new () => object;
  bare.prototype = proto;
  const shapes = new Map<string, ShapeBuilder | null>();
  let last: ShapeBuilder | undefined;
  return (payload, path) => {
    const fast = last?.(payload);
    if (fast !== undefined) return fast as E;
    const keys = Object.keys(payload);
    for (const key of keys) {
      if (reserved.has(key)) {
        throw new CorruptFileError(
          path ?? '(no file)',
          `the payload of event ${JSON.stringify(cls.type)} has a field ${JSON.stringify(key)}, the name of a method or property of ${cls.name || 'its class'}, which it would hide (a class that stores such a field needs a static fromPayload)`,
        );
      }
    }
    const signature = JSON.stringify(keys);
    let build = shapes.get(signature);
    if (build === undefined && shapes.size < MAX_SHAPES) {
      build = compileShape(bare, keys, reserved);
      shapes.set(signature, build);
    }
    const built = build?.(payload);
    if (built !== undefined) {
      last = build as ShapeBuilder;
      return built as E;
    }
    const event = Object.create(proto) as E;
    copyFields(event, payload, true);
    return event;
  };
}
