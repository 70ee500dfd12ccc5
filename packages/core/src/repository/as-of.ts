import type { AsOf } from './options.js';

/** Where a load stops: inclusive upper bounds on version and timestamp. */
export interface LoadBounds {
  readonly toVersion: number;
  readonly toTime: number;
  /** True when the caller asked for a past state (no cache, no cache update). */
  readonly timeTravel: boolean;
  /** False when the load must replay every event (no snapshot, no cache). */
  readonly useSnapshots: boolean;
}

/**
 * Checks an {@link AsOf} and turns it into bounds.
 * @throws {RangeError} for a negative or fractional version or an invalid time.
 */
export function loadBounds(asOf: AsOf | undefined): LoadBounds {
  const version = asOf?.version;
  const timestamp = asOf?.timestamp;
  if (version !== undefined && !(Number.isSafeInteger(version) && version >= 0)) {
    throw new RangeError(`asOf.version must be a non-negative integer, got ${version}`);
  }
  const toTime = timestamp === undefined ? Number.POSITIVE_INFINITY : Number(timestamp);
  if (Number.isNaN(toTime)) throw new RangeError('asOf.timestamp is not a valid time');
  return {
    toVersion: version ?? Number.POSITIVE_INFINITY,
    toTime,
    timeTravel: version !== undefined || timestamp !== undefined || asOf?.snapshots === false,
    useSnapshots: asOf?.snapshots !== false,
  };
}

/** Describes an {@link AsOf} for error messages. */
export function describeAsOf(asOf: AsOf | undefined): string | undefined {
  if (asOf?.version !== undefined) return `as of version ${asOf.version}`;
  if (asOf?.timestamp !== undefined) return `as of ${new Date(Number(asOf.timestamp)).toISOString()}`;
  return undefined;
}
