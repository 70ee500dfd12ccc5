import { ConfigurationError, CorruptFileError } from '../errors.js';

/**
 * Where the change feed lives in a store, and its checkpoints.
 *
 * The feed is K logs (partitions); an aggregate's batches go to one of them, chosen by a
 * stable hash of its type and id ({@link partitionOf}). K is fixed when the feed is turned
 * on and recorded in the marker.
 *
 * ```text
 * .evsrc/feed/enabled                         the feed is on: {"evsrc":1,"partitions":K}
 * .evsrc/feed/bell/ring                       replaced by writers after they log: idle watchers read only this
 * .evsrc/feed/p{partition, 3 digits}/head     a hint: a recent position of that log (never trusted, only a start)
 * .evsrc/feed/p{partition, 3 digits}/{chunk, 9 digits}/{position, 12 digits}.entry
 * ```
 *
 * A store whose feed was turned on before partitions existed has the marker `on` and one
 * log directly in `.evsrc/feed/` (`.evsrc/feed/head`, `.evsrc/feed/{chunk}/{position}.entry`):
 * it is read and written as a one-partition feed with its own checkpoint format, unchanged.
 *
 * Positions are 1, 2, 3, … with no gap in each log (each is taken with create-if-absent by
 * the writer that saw the one before it); chunks hold 1,000 positions, so no folder grows
 * without bound. `.evsrc` can never be an aggregate type's folder: encoded types use only
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

/** The folder (with trailing `/`) of the file writers replace after logging, so that idle watchers read one file. */
export const BELL_FOLDER = `${FEED_FOLDER}bell/`;
/** The file writers replace after logging (stores of more than one partition). */
export const BELL = `${BELL_FOLDER}ring`;
/** Most partitions a feed can have. */
export const MAX_PARTITIONS = 256;
/** Partitions of a feed turned on without saying how many (see `docs/reference/feed.md`, "How many partitions"). */
export const DEFAULT_PARTITIONS = 32;

/**
 * How a store's feed is laid out: how many logs, and whether it is the one log of a
 * store whose feed was turned on before partitions existed (`legacy`).
 */
export interface FeedLayout {
  readonly partitions: number;
  readonly legacy: boolean;
}

/** The layout of a store whose marker says `on` (or that has no marker): one log in {@link FEED_FOLDER}. */
export const LEGACY_LAYOUT: FeedLayout = { partitions: 1, legacy: true };

/** The folder (with trailing `/`) of one partition's log. */
export function logFolder(layout: FeedLayout, partition: number): string {
  if (layout.legacy) return FEED_FOLDER;
  return `${FEED_FOLDER}p${String(partition).padStart(3, '0')}/`;
}

/** The head hint of the log in `folder`. */
export function headHintPath(folder: string = FEED_FOLDER): string {
  return `${folder}head`;
}

/** The folder (with trailing `/`) holding `position` in the log in `folder`. */
export function chunkFolder(position: number, folder: string = FEED_FOLDER): string {
  return `${folder}${String(Math.floor(position / CHUNK)).padStart(9, '0')}/`;
}

/** The name of the log entry at `position` (1-based) of the log in `folder`. */
export function entryPath(position: number, folder: string = FEED_FOLDER): string {
  if (!Number.isSafeInteger(position) || position < 1 || position > MAX_POSITION) {
    throw new RangeError(`Feed position out of range: ${position}`);
  }
  return `${chunkFolder(position, folder)}${String(position).padStart(12, '0')}.entry`;
}

const encoder = new TextEncoder();

/**
 * The partition of an aggregate among `partitions`: FNV-1a (32 bits) of the UTF-8 bytes of
 * `{type}\n{id}`, modulo `partitions`. Part of the file format: it never changes.
 */
export function partitionOf(type: string, id: string, partitions: number): number {
  if (partitions === 1) return 0;
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(`${type}\n${id}`)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/** The marker's bytes for a feed of `partitions` logs. */
export function encodeMarker(partitions: number): Uint8Array {
  return encoder.encode(`${JSON.stringify({ evsrc: 1, partitions })}\n`);
}

/**
 * The layout a marker describes: `on` (written before partitions existed) is the legacy
 * one-log layout.
 * @throws {CorruptFileError} naming the marker when it says anything else.
 */
export function decodeMarker(bytes: Uint8Array): FeedLayout {
  const text = new TextDecoder().decode(bytes).trim();
  if (text === 'on') return LEGACY_LAYOUT;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const partitions = (parsed as { partitions?: unknown } | undefined)?.partitions;
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    (parsed as { evsrc?: unknown }).evsrc !== 1 ||
    !Number.isSafeInteger(partitions) ||
    (partitions as number) < 1 ||
    (partitions as number) > MAX_PARTITIONS
  ) {
    throw new CorruptFileError(FEED_MARKER, `not a feed marker: ${JSON.stringify(text.slice(0, 80))}`);
  }
  return { partitions: partitions as number, legacy: false };
}

/**
 * Where a batch file's header says it was logged (`"feed"`): `"{position}:{index}"` in the
 * legacy layout, `"{partition}/{position}:{index}"` in a partitioned one.
 */
export function placeOf(layout: FeedLayout, partition: number, position: number, index: number): string {
  return layout.legacy ? `${position}:${index}` : `${partition}/${position}:${index}`;
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
 * A checkpoint: a short string, safe to store anywhere, covering the whole feed.
 * {@link FEED_START} (`"0:0"`) is the checkpoint before everything, on every feed.
 *
 * - A feed of K partitions: `"{K}|{p0},{p1},…"`, one place per partition, each
 *   `"{position}:{index}:{entry id}"` or empty for "nothing read yet", e.g.
 *   `"4|1042:0:9f86d081884c7d65,,17:2:0a1b2c3d4e5f6071,"`.
 * - A store whose feed was turned on before partitions existed (one log):
 *   `"{position}:{index}:{entry id}"`, e.g. `"1042:0:9f86d081884c7d65"`, or
 *   `"{position}:{index}"` for entries written before entry ids.
 *
 * Batch files written with the feed on carry their place in their header (`feed`, see
 * {@link placeOf}).
 */
export type Checkpoint = string;

/** A place in one log: `"{position}:{index}"`, and the entry's id where it has one. */
const PLACE = /^(\d{1,12}):(\d{1,6})(?::([0-9a-f]{16}))?$/;

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
  const match = typeof value === 'string' ? PLACE.exec(value) : null;
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

/** The checkpoint of a partitioned feed: a place in each partition's log (index = partition). */
export type FeedVector = readonly FeedPosition[];

const START: FeedPosition = { position: 0, index: 0 };
const isStart = (at: FeedPosition) => at.position === 0 && at.index === 0 && at.id === undefined;

/** Formats the checkpoint of `vector` for a feed laid out as `layout`. */
export function formatVector(layout: FeedLayout, vector: FeedVector): Checkpoint {
  if (layout.legacy) return formatCheckpoint(vector[0] ?? START);
  return `${layout.partitions}|${vector.map((at) => (isStart(at) ? '' : formatCheckpoint(at))).join(',')}`;
}

/**
 * Parses a checkpoint of a feed laid out as `layout`; `undefined`, `null` and
 * {@link FEED_START} mean the start of every partition.
 * @throws {ConfigurationError} naming the value when it is not a checkpoint of this feed
 *   (another number of partitions, or the one-log format on a partitioned feed).
 */
export function parseVector(value: Checkpoint | undefined | null, layout: FeedLayout): FeedPosition[] {
  const start = () => Array.from({ length: layout.partitions }, () => START);
  if (value === undefined || value === null || value === FEED_START) return start();
  const vector = typeof value === 'string' ? /^(\d{1,3})\|(.*)$/s.exec(value) : null;
  if (layout.legacy) {
    if (vector) {
      throw new ConfigurationError(
        `The checkpoint ${JSON.stringify(value.slice(0, 80))} was taken on a feed of ${vector[1]} partitions; this store's feed is one log`,
      );
    }
    return [parseCheckpoint(value)];
  }
  if (!vector) {
    throw new ConfigurationError(
      `Not a checkpoint of this feed (${layout.partitions} partitions): ${JSON.stringify(String(value).slice(0, 80))} (expected "${layout.partitions}|{place},…")`,
    );
  }
  if (Number(vector[1]) !== layout.partitions) {
    throw new ConfigurationError(
      `The checkpoint ${JSON.stringify(value.slice(0, 80))} was taken on a feed of ${vector[1]} partitions; this store's feed has ${layout.partitions}`,
    );
  }
  const parts = (vector[2] as string).split(',');
  if (parts.length !== layout.partitions) {
    throw new ConfigurationError(
      `Not a checkpoint of this feed: ${JSON.stringify(value.slice(0, 80))} has ${parts.length} places for ${layout.partitions} partitions`,
    );
  }
  return parts.map((part) => (part === '' ? START : parseCheckpoint(part)));
}

/**
 * Whether `value` has the shape of a checkpoint of some feed (either format), without
 * knowing the feed: what a stored projection state is checked against.
 */
export function isCheckpoint(value: unknown): value is Checkpoint {
  if (typeof value !== 'string') return false;
  const vector = /^(\d{1,3})\|(.*)$/s.exec(value);
  if (!vector) return PLACE.test(value);
  const parts = (vector[2] as string).split(',');
  return parts.length === Number(vector[1]) && parts.every((part) => part === '' || PLACE.test(part));
}
