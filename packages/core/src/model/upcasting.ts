import { ConfigurationError, UpcastError } from '../errors.js';

/**
 * Upcasting: stored events and snapshots keep the schema version they were written with;
 * on read, registered upcasters bring an old payload to the current shape one version at
 * a time (v1 → v2 → v3), so old files never need rewriting.
 *
 * @module
 */

/** Turns a stored payload of event type `type` from schema version `from` into `from + 1`. */
export interface EventUpcaster {
  /** The stored event type name. */
  readonly type: string;
  /** The version it upcasts from (the result is version `from + 1`). */
  readonly from: number;
  /** Returns the payload in the next version's shape (it may modify and return its argument). */
  upcast(payload: Record<string, unknown>): Record<string, unknown>;
}

/** Turns a snapshot state from schema version `from` into `from + 1`. */
export interface SnapshotUpcaster {
  /** The version it upcasts from. */
  readonly from: number;
  /** Returns the state in the next version's shape. */
  upcast(state: unknown): unknown;
}

/**
 * Declares an event upcaster.
 *
 * @example
 * ```ts
 * upcastEvent('deposited', 1, (p) => ({ ...p, currency: 'EUR' }))
 * ```
 */
export function upcastEvent(
  type: string,
  from: number,
  upcast: (payload: Record<string, unknown>) => Record<string, unknown>,
): EventUpcaster {
  return { type, from, upcast };
}

/** Declares a snapshot upcaster from schema version `from` to `from + 1`. */
export function upcastSnapshot(from: number, upcast: (state: unknown) => unknown): SnapshotUpcaster {
  return { from, upcast };
}

function checkVersion(what: string, version: unknown): number {
  if (version === undefined) return 1;
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw new ConfigurationError(`${what} must be a positive integer, not ${String(version)}`);
  }
  return version as number;
}

/** The static `version` of an event class, checked (default 1). */
export function eventVersion(cls: { readonly name: string; readonly version?: number }): number {
  return checkVersion(`The version of event class ${cls.name}`, cls.version);
}

/** The static `snapshotVersion` of an aggregate class, checked (default 1). */
export function snapshotVersion(cls: { readonly name: string; readonly snapshotVersion?: number }): number {
  return checkVersion(`The snapshotVersion of aggregate class ${cls.name}`, cls.snapshotVersion);
}

/** One chain of upcasters (of one event type, or of snapshots), by the version they start from. */
export class UpcasterChain<T> {
  readonly #steps = new Map<number, (value: T) => T>();

  /** @throws {ConfigurationError} for two upcasters from the same version. */
  constructor(
    readonly what: string,
    readonly current: number,
    steps: readonly { readonly from: number; upcast(value: T): T }[],
  ) {
    for (const step of steps) {
      const from = checkVersion(`The "from" version of an upcaster of ${what}`, step.from);
      if (this.#steps.has(from)) throw new ConfigurationError(`Two upcasters of ${what} start from version ${from}`);
      this.#steps.set(from, (value) => step.upcast(value));
    }
  }

  /** Whether a value stored at `version` can be brought to the current version. */
  reaches(version: number): boolean {
    if (version > this.current) return false;
    for (let v = version; v < this.current; v++) if (!this.#steps.has(v)) return false;
    return true;
  }

  /**
   * Brings `value`, stored at `version`, to the current version.
   * @throws {UpcastError} when a step is missing or the version is newer than the current one.
   */
  upcast(value: T, version: number, path?: string): T {
    if (version === this.current) return value;
    if (!this.reaches(version)) throw new UpcastError(this.what, version, this.current, path);
    let out = value;
    for (let v = version; v < this.current; v++) out = (this.#steps.get(v) as (value: T) => T)(out);
    return out;
  }
}
