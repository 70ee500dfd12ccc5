import { CorruptFileError, UnsupportedFormatError } from '../errors.js';
import { openSealedFile, sealFile } from '../format/envelope.js';
import { batchPath } from '../format/layout.js';
import { ENTRY_ID } from './layout.js';

/**
 * A log entry of the change feed: one JSON header line naming each batch it logs, then the
 * exact bytes of each batch file, one after the other. The header ends with the CRC-32 of
 * the body and `hcrc32`, the CRC-32 of the header line before it, like every evsrc file.
 *
 * @module
 */

/** What the log says about one batch. */
export interface LoggedBatchInfo {
  /** Where the batch file is (or will be). */
  readonly path: string;
  readonly type: string;
  readonly id: string;
  readonly first: number;
  readonly last: number;
  readonly commit: string;
  /**
   * First version of the batch this one follows (absent for an aggregate's first batch,
   * and in entries written before it was logged): a roll-forward creates the batch file
   * only while that batch exists, like the save itself.
   */
  readonly after?: number;
  /**
   * The commit id of the batch this one follows: a roll-forward completes the batch only
   * while that very batch is in place (not another written at its versions after the store
   * lost it).
   */
  readonly afterCommit?: string;
}

/** One batch of a log entry, with the bytes its file must hold. */
export interface LoggedBatch extends LoggedBatchInfo {
  readonly bytes: Uint8Array;
}

/** Only the {@link LoggedBatchInfo} fields of `batch`, in the order entries store them. */
export function infoOf({ path, type, id, first, last, commit, after, afterCommit }: LoggedBatchInfo): LoggedBatchInfo {
  const info: { -readonly [K in keyof LoggedBatchInfo]: LoggedBatchInfo[K] } = { path, type, id, first, last, commit };
  if (after !== undefined) info.after = after;
  if (afterCommit !== undefined) info.afterCommit = afterCommit;
  return info;
}

/**
 * How an entry is chained to the one before it: its own random `id`, and `prev`, the id
 * of the entry at the position before (absent at position 1, or when that entry has none).
 * A reader that saw entry P and finds an entry P + 1 whose `prev` is not the id it saw
 * knows that position P was lost and written again.
 */
export interface EntryLink {
  readonly id: string;
  readonly prev?: string;
}

/** A decoded log entry. */
export interface FeedEntry {
  readonly position: number;
  /** Its id and its predecessor's (absent in entries written before entries were chained). */
  readonly id?: string;
  readonly prev?: string;
  readonly batches: LoggedBatch[];
}

const KIND = 'feed-entry';
const ENTRY_FORMAT = 1;

/** Encodes the log entry at `position` (chained to the one before it by `link`). */
export function encodeEntry(position: number, batches: readonly LoggedBatch[], link?: EntryLink): Uint8Array {
  let size = 0;
  for (const b of batches) size += b.bytes.byteLength;
  const body = new Uint8Array(size);
  let at = 0;
  for (const b of batches) {
    body.set(b.bytes, at);
    at += b.bytes.byteLength;
  }
  const header = {
    evsrc: ENTRY_FORMAT,
    kind: KIND,
    position,
    ...(link === undefined ? {} : link.prev === undefined ? { id: link.id } : { id: link.id, prev: link.prev }),
    batches: batches.map((b) => ({ ...infoOf(b), bytes: b.bytes.byteLength })),
  };
  return sealFile(header, body);
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Checks the fields of a log entry's header (whose checksums {@link openSealedFile} checked). */
function checkHeader(path: string, header: Record<string, unknown>, position: number): void {
  if (header.kind !== KIND) throw new CorruptFileError(path, `not a feed entry (kind ${JSON.stringify(header.kind)})`);
  if (!isInt(header.evsrc) || header.evsrc > ENTRY_FORMAT) {
    throw new UnsupportedFormatError(path, `feed entry format ${String(header.evsrc)} is newer than ${ENTRY_FORMAT}`);
  }
  if (header.position !== position) {
    throw new CorruptFileError(path, `feed entry says position ${String(header.position)}, its name says ${position}`);
  }
  const link = (v: unknown) => v === undefined || (isStr(v) && ENTRY_ID.test(v));
  if (!Array.isArray(header.batches) || !link(header.id) || !link(header.prev)) {
    throw new CorruptFileError(path, 'malformed feed entry header');
  }
}

/** Checks one batch of the header: its fields, and that its path is where its type, id and version put it. */
function batchInfo(path: string, item: unknown): LoggedBatchInfo & { bytes: number } {
  const b = item as Record<string, unknown>;
  const ok =
    typeof b === 'object' &&
    b !== null &&
    isStr(b.path) &&
    isStr(b.type) &&
    isStr(b.id) &&
    isInt(b.first) &&
    isInt(b.last) &&
    isStr(b.commit) &&
    (b.after === undefined || (isInt(b.after) && b.after >= 1 && b.after < (b.first as number))) &&
    (b.afterCommit === undefined || (isStr(b.afterCommit) && b.after !== undefined)) &&
    isInt(b.bytes);
  if (!ok) throw new CorruptFileError(path, 'malformed batch in feed entry header');
  const info = b as unknown as LoggedBatchInfo & { bytes: number };
  let place: string | undefined;
  try {
    place = batchPath(info.type, info.id, info.first);
  } catch {
    place = undefined;
  }
  if (place !== info.path) {
    throw new CorruptFileError(
      path,
      `logs a batch at ${JSON.stringify(info.path)}, not where its type, id and version put it`,
    );
  }
  return info;
}

/**
 * Decodes and checks a log entry read at `path`, which must hold `position`.
 * @throws {CorruptFileError} naming the path for anything malformed or altered.
 * @throws {UnsupportedFormatError} for a newer entry format.
 */
export function decodeEntry(path: string, bytes: Uint8Array, position: number): LoggedBatch[] {
  return readEntry(path, bytes, position).batches;
}

/**
 * Decodes and checks a log entry read at `path`, which must hold `position`, with its link.
 * @throws {CorruptFileError} naming the path for anything malformed or altered.
 * @throws {UnsupportedFormatError} for a newer entry format.
 */
export function readEntry(path: string, bytes: Uint8Array, position: number): FeedEntry {
  const { header, body } = openSealedFile(path, bytes, 'feed entry');
  checkHeader(path, header, position);
  const out: LoggedBatch[] = [];
  let at = 0;
  for (const item of header.batches as unknown[]) {
    const { bytes: size, ...info } = batchInfo(path, item);
    if (at + size > body.byteLength)
      throw new CorruptFileError(path, 'feed entry body is shorter than its header says');
    out.push({ ...infoOf(info), bytes: body.subarray(at, at + size) });
    at += size;
  }
  if (at !== body.byteLength) throw new CorruptFileError(path, 'feed entry body is longer than its header says');
  const id = header.id as string | undefined;
  const prev = header.prev as string | undefined;
  return { position, ...(id === undefined ? {} : { id }), ...(prev === undefined ? {} : { prev }), batches: out };
}
