/**
 * What an event payload or a snapshot state may hold: plain data that every built-in
 * format stores faithfully, so that what is read back deep-equals what was saved.
 *
 * Accepted: `null`, booleans, finite numbers, well-formed strings, arrays and plain
 * objects (prototype `Object.prototype` or `null`) of those, nested at most
 * {@link MAX_PAYLOAD_DEPTH} levels. Two things are stored as their equivalent: `-0` is
 * read back as `0` (both formats), and an object field holding `undefined` is read back
 * as absent (JSON) or `undefined` (MessagePack).
 *
 * Refused, and why (J = JSON, M = MessagePack):
 * - `NaN`, `±Infinity`: J stores `null`.
 * - bigint: J throws; M throws above 64 bits and reads small ones back as numbers or bigints.
 * - functions, symbols: J drops them (or stores `null`), M stores `undefined` or throws.
 * - `undefined` in an array, and array holes: J stores `null`.
 * - strings and keys with a lone surrogate (half a UTF-16 pair): M stores U+FFFD.
 * - a key `__proto__`: M renames it `__proto_`; it is also a trap for code that copies objects.
 * - any other object (Date, Map, Set, typed arrays, boxed values, class instances, arrays
 *   of a subclass): J stores a string or a bare object, M another type or a plain object;
 *   either way not what was saved. Convert it in `toPayload`/`fromPayload` (or
 *   `toSnapshot`/`restoreSnapshot`).
 * - nesting deeper than {@link MAX_PAYLOAD_DEPTH}, and cycles: the parsers fail with a
 *   raw `RangeError` (or `TypeError`) somewhere above 1,000 levels.
 *
 * Not looked at (neither format stores them, and they are not data): symbol keys,
 * non-enumerable properties, inherited properties, named properties of arrays.
 *
 * @module
 */

import { InvalidPayloadError } from '../errors.js';
import type { Aggregate } from './aggregate.js';

/**
 * The deepest nesting of arrays and objects in a payload or snapshot state (the value
 * itself is level 1). MessagePack (msgpackr) fails at about 1,200 levels and
 * `JSON.stringify` at about 4,100, both with a raw `RangeError`, and fewer when the save is
 * called from an already deep stack; stored events sit two levels further down (batch,
 * event). 100 leaves that a wide margin and is far beyond any real payload. It also
 * bounds the check's own recursion and is how it finds cycles.
 */
export const MAX_PAYLOAD_DEPTH = 100;

/** Why a value cannot be stored, and where. */
export interface PayloadProblem {
  /** Where: `items[3].price`, `["a key"].x`; `''` for the value itself. */
  readonly field: string;
  /** What is wrong with it, as the end of a sentence naming the field ("is NaN"). */
  readonly reason: string;
}

/** What {@link findPayloadProblem} must check beyond plain data. */
export interface PayloadRules {
  /**
   * The value must be an object (not an array, not null): an event whose class has no
   * `fromPayload` is rebuilt by copying the payload's fields.
   */
  readonly object?: boolean;
  /**
   * Names the value's own fields may not have: those of the event class's prototype chain
   * (`applyOn`, `constructor`, `toString`, …), which a copied field would hide.
   */
  readonly reserved?: ReadonlySet<string>;
}

/**
 * An aggregate's snapshot state (`toSnapshot()`), checked by the rules of event payloads:
 * a snapshot that restores another state than its events would be worse than none (the
 * repository reports the error to `onError` and skips the snapshot).
 * @throws {InvalidPayloadError} naming the field (and no event type).
 */
export function snapshotStateOf(aggregateType: string, aggregate: Aggregate): unknown {
  const state = aggregate.toSnapshot();
  const problem = findPayloadProblem(state);
  if (problem !== undefined) {
    throw new InvalidPayloadError(aggregateType, aggregate.id, undefined, problem.field, problem.reason);
  }
  return state;
}

/** A problem on its way up: `path` holds keys innermost first (built only on failure). */
interface Found {
  readonly reason: string;
  readonly path: (string | number)[];
}

const found = (reason: string): Found => ({ reason, path: [] });

/**
 * Checks that a value can be stored faithfully (see the module's rules) in one walk.
 * Allocates nothing unless it finds a problem.
 * @returns the first problem found, or `undefined` when the value can be stored.
 */
export function findPayloadProblem(value: unknown, rules: PayloadRules = {}): PayloadProblem | undefined {
  let problem: Found | undefined;
  try {
    if (value === undefined) problem = found('is undefined');
    else if (rules.object && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      problem = found(`is ${what}, not an object: the event class has no static fromPayload to read it back`);
    } else problem = check(value, 1, rules.reserved);
  } catch (error) {
    // Only a getter or a proxy in the value can throw; the save would fail the same way.
    return { field: '', reason: `cannot be read: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (problem === undefined) return undefined;
  const path = problem.path.reverse();
  if (problem.reason === TOO_DEEP) {
    try {
      const cycle = findCycle(value, path);
      if (cycle) return cycle;
    } catch {
      // A getter that throws on the second read: report the depth.
    }
  }
  return { field: fieldPath(path), reason: problem.reason };
}

const TOO_DEEP = `nests arrays or objects deeper than ${MAX_PAYLOAD_DEPTH} levels`;

function check(value: unknown, depth: number, reserved: ReadonlySet<string> | undefined): Found | undefined {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? undefined : found(LONE_SURROGATE);
    case 'number':
      return Number.isFinite(value) ? undefined : found(`is ${value}, which JSON stores as null`);
    case 'boolean':
      return undefined;
    case 'object':
      return value === null ? undefined : checkObject(value, depth, reserved);
    case 'bigint':
      return found('is a bigint: store it as a string (or a number)');
    default:
      // undefined (reached only as an array item), function, symbol
      return found(value === undefined ? UNDEFINED_ITEM : `is a ${typeof value}`);
  }
}

function checkObject(value: object, depth: number, reserved: ReadonlySet<string> | undefined): Found | undefined {
  if (depth > MAX_PAYLOAD_DEPTH) return found(TOO_DEEP);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Array.prototype) {
    const array = value as readonly unknown[];
    for (let i = 0; i < array.length; i++) {
      const problem = check(array[i], depth + 1, undefined);
      if (problem !== undefined) {
        problem.path.push(i);
        return problem;
      }
    }
    return undefined;
  }
  if (proto !== Object.prototype && proto !== null) return found(`is ${describe(value)}, not plain data`);
  const object = value as Record<string, unknown>;
  for (const key in object) {
    const problem = checkField(object, key, depth, reserved);
    // `for…in` also lists inherited enumerable keys (of a polluted Object.prototype), which
    // are not stored: asking only when something is wrong keeps the common path cheap.
    if (problem !== undefined && Object.hasOwn(object, key)) {
      problem.path.push(key);
      return problem;
    }
  }
  return undefined;
}

function checkField(
  object: Record<string, unknown>,
  key: string,
  depth: number,
  reserved: ReadonlySet<string> | undefined,
): Found | undefined {
  if (key === '__proto__') return found(PROTO_KEY);
  if (!key.isWellFormed()) return found(LONE_SURROGATE_KEY);
  if (reserved?.has(key)) return found(RESERVED);
  const item = object[key];
  // An undefined field is stored as absent (JSON) or undefined (MessagePack): both read back as undefined.
  return item === undefined ? undefined : check(item, depth + 1, undefined);
}

const LONE_SURROGATE = 'is a string with a lone surrogate (half a UTF-16 pair), which MessagePack cannot store';
const LONE_SURROGATE_KEY = 'has a name with a lone surrogate (half a UTF-16 pair), which MessagePack cannot store';
const UNDEFINED_ITEM = 'is undefined in an array (or a hole), which JSON stores as null: use null';
const PROTO_KEY = 'is named __proto__, which MessagePack renames and object copies turn into a prototype';
const RESERVED =
  'has the name of a method or property of the event class (or its prototype chain), which the stored field would hide when the event is read back: rename the field, or give the class a static fromPayload';

/** After a too-deep path: whether it loops back to one of its own ancestors, and where. */
function findCycle(root: unknown, path: readonly (string | number)[]): PayloadProblem | undefined {
  const ancestors: unknown[] = [root];
  let value = root as Record<string | number, unknown>;
  for (let i = 0; i < path.length; i++) {
    value = value[path[i] as string | number] as Record<string | number, unknown>;
    const back = ancestors.indexOf(value);
    if (back >= 0) {
      const target = back === 0 ? 'the value itself' : fieldPath(path.slice(0, back));
      return { field: fieldPath(path.slice(0, i + 1)), reason: `refers back to ${target} (a cycle)` };
    }
    ancestors.push(value);
  }
  return undefined;
}

/** `items[3].price`, `["a b"].c`: a path as it would be written in JavaScript. */
export function fieldPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** "a Date", "an instance of Money": for messages. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (Array.isArray(value)) return 'an array of another class or realm';
  let name: unknown;
  let builtIn = false;
  try {
    const ctor = (Object.getPrototypeOf(value) as { constructor?: unknown } | null)?.constructor;
    name = (ctor as { name?: unknown } | undefined)?.name;
    builtIn = typeof name === 'string' && (globalThis as Record<string, unknown>)[name] === ctor;
  } catch {
    // A hostile prototype: say nothing of it.
  }
  if (typeof name !== 'string' || name === '') return 'an object that is not plain data';
  return builtIn ? `a ${name}` : `an instance of ${name}`;
}
