import { ConfigurationError } from '../errors.js';

/**
 * Where the change feed lives in a store, and its checkpoints.
 *
 * ```text
 * .evsrc/feed/enabled                         the feed is on for this store
 * .evsrc/feed/head                            a hint: a recent position (never trusted, only a start)
 * .evsrc/feed/{chunk, 9 digits}/{position, 12 digits}.entry
 * ```
 *
 * Positions are 1, 2, 3, … with no gap (each is taken with create-if-absent by the writer
 * that saw the one before it); chunks hold 1,000 positions, so no folder grows without
 * bound. `.evsrc` can never be an aggregate type's folder: encoded types use only
 * `[a-z0-9_%-]`.
 *
 * @module
 */

/** The folder (with trailing `/`) of everything evsrc keeps beside the aggregates. */
export const RESERVED_FOLDER = '.evsrc/';
/** The folder (with trailing `/`) of the change feed's log. */
export const FEED_FOLDER = `${RESERVED_FOLDER}feed/`;
/** Present when the store's writers must log every batch in the feed. */
export const FEED_MARKER = `${FEED_FOLDER}enabled`;
/** A recent position, replaced now and then by writers: where a search for the head starts. */
export const FEED_HEAD_HINT = `${FEED_FOLDER}head`;
/** Positions per chunk folder. */
export const CHUNK = 1000;
/** The largest position a name can hold. */
export const MAX_POSITION = 999_999_999_999;

/** The folder (with trailing `/`) holding `position`. */
export function chunkFolder(position: number): string {
  return `${FEED_FOLDER}${String(Math.floor(position / CHUNK)).padStart(9, '0')}/`;
}

/** The name of the log entry at `position` (1-based). */
export function entryPath(position: number): string {
  if (!Number.isSafeInteger(position) || position < 1 || position > MAX_POSITION) {
    throw new RangeError(`Feed position out of range: ${position}`);
  }
  return `${chunkFolder(position)}${String(position).padStart(12, '0')}.entry`;
}

/** The position in a log entry's name, or `undefined` when the name is not one. */
export function positionInName(path: string): number | undefined {
  const match = /\/(\d{12})\.entry$/.exec(path);
  return match ? Number(match[1]) : undefined;
}

/**
 * A place in the feed: the batch at `index` (0-based) of the log entry at `position`.
 * Reading from a checkpoint yields what comes after it.
 */
export interface FeedPosition {
  readonly position: number;
  readonly index: number;
  /**
   * The id of the log entry at `position` (entries written since ids exist), so that a
   * reader resuming from this checkpoint can tell the entry it saw from one written there
   * again after the store lost it.
   */
  readonly id?: string;
}

/**
 * A checkpoint: a short string (`"{position}:{index}:{entry id}"`, e.g.
 * `"1042:0:9f86d081884c7d65"`; `"{position}:{index}"` for entries written before entry
 * ids), safe to store anywhere. {@link FEED_START} is the checkpoint before everything.
 * Batch files written with the feed on carry their place in their header (`feed`, as
 * `"{position}:{index}"`).
 */
export type Checkpoint = string;

/** The checkpoint before the first batch of the feed. */
export const FEED_START: Checkpoint = '0:0';

/** Formats a checkpoint (with the entry id when `at` has one). */
export function formatCheckpoint(at: FeedPosition): Checkpoint {
  return at.id === undefined ? `${at.position}:${at.index}` : `${at.position}:${at.index}:${at.id}`;
}

/** A log entry's id: 16 lowercase hex digits. */
export const ENTRY_ID = /^[0-9a-f]{16}$/;

/**
 * Parses a checkpoint; `undefined` and `null` mean {@link FEED_START}.
 * @throws {ConfigurationError} naming the value when it is not a checkpoint.
 */
export function parseCheckpoint(value: Checkpoint | undefined | null): FeedPosition {
  if (value === undefined || value === null) return { position: 0, index: 0 };
  const match = typeof value === 'string' ? /^(\d{1,12}):(\d{1,6})(?::([0-9a-f]{16}))?$/.exec(value) : null;
  if (!match) {
    throw new ConfigurationError(
      `Not a feed checkpoint: ${JSON.stringify(value)} (expected "position:index[:entry id]", e.g. "42:0")`,
    );
  }
  const at = { position: Number(match[1]), index: Number(match[2]) };
  return match[3] === undefined ? at : { ...at, id: match[3] };
}

/** Whether `a` comes strictly after `b`. */
export function isAfter(a: FeedPosition, b: FeedPosition): boolean {
  return a.position > b.position || (a.position === b.position && a.index > b.index);
}
