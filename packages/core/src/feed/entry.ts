import { crc32 } from 'node:zlib';
import { CorruptFileError, UnsupportedFormatError } from '../errors.js';
import { checkHeaderEnd, sealHeader } from '../format/envelope.js';
import { batchPath } from '../format/layout.js';

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
}

/** One batch of a log entry, with the bytes its file must hold. */
export interface LoggedBatch extends LoggedBatchInfo {
  readonly bytes: Uint8Array;
}

/** Only the {@link LoggedBatchInfo} fields of `batch`, in the order entries store them. */
export function infoOf({ path, type, id, first, last, commit }: LoggedBatchInfo): LoggedBatchInfo {
  return { path, type, id, first, last, commit };
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const KIND = 'feed-entry';
const ENTRY_FORMAT = 1;

/** Encodes the log entry at `position`. */
export function encodeEntry(position: number, batches: readonly LoggedBatch[]): Uint8Array {
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
    batches: batches.map((b) => ({ ...infoOf(b), bytes: b.bytes.byteLength })),
    crc32: crc32(body),
  };
  const head = sealHeader(header);
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head, 0);
  out.set(body, head.byteLength);
  return out;
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Parses and checks the header line of a log entry (its own checksum included). */
function readHeader(path: string, line: Uint8Array, position: number): Record<string, unknown> {
  let header: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(decoder.decode(line));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    header = parsed as Record<string, unknown>;
  } catch (error) {
    throw new CorruptFileError(path, `unreadable feed entry header: ${(error as Error).message}`, error);
  }
  checkHeaderEnd(path, line, header, { sealed: true });
  if (header.kind !== KIND) throw new CorruptFileError(path, `not a feed entry (kind ${JSON.stringify(header.kind)})`);
  if (!isInt(header.evsrc) || header.evsrc > ENTRY_FORMAT) {
    throw new UnsupportedFormatError(path, `feed entry format ${String(header.evsrc)} is newer than ${ENTRY_FORMAT}`);
  }
  if (header.position !== position) {
    throw new CorruptFileError(path, `feed entry says position ${String(header.position)}, its name says ${position}`);
  }
  if (!Array.isArray(header.batches) || !isInt(header.crc32)) {
    throw new CorruptFileError(path, 'malformed feed entry header');
  }
  return header;
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
  const end = bytes.indexOf(0x0a);
  if (end < 0) throw new CorruptFileError(path, 'no header line (not a feed entry, or truncated)');
  const header = readHeader(path, bytes.subarray(0, end), position);
  const body = bytes.subarray(end + 1);
  if (crc32(body) !== header.crc32) {
    throw new CorruptFileError(path, 'feed entry checksum mismatch (the body was altered)');
  }
  const out: LoggedBatch[] = [];
  let at = 0;
  for (const item of header.batches as unknown[]) {
    const { bytes: size, path: where, type, id, first, last, commit } = batchInfo(path, item);
    if (at + size > body.byteLength)
      throw new CorruptFileError(path, 'feed entry body is shorter than its header says');
    out.push({ path: where, type, id, first, last, commit, bytes: body.subarray(at, at + size) });
    at += size;
  }
  if (at !== body.byteLength) throw new CorruptFileError(path, 'feed entry body is longer than its header says');
  return out;
}

/** How a log entry links to the one before it (header fields absent in entries written before they existed). */
export interface EntryLinks {
  /** The entry's own id: 16 lowercase hex characters, random per entry. */
  readonly id?: string;
  /** The `id` of the entry at position − 1 when this one was written (absent at position 1). */
  readonly prev?: string;
}

const ENTRY_ID = /^[0-9a-f]{16}$/;

/**
 * Reads the `id` and `prev` fields of a log entry's header, checked as {@link decodeEntry}
 * checks the header (the body is not read). A reader that has seen the entry at P and then
 * finds at P + 1 a `prev` other than that entry's `id` knows that position P was lost and
 * taken again.
 * @throws {CorruptFileError} naming the path for a malformed header or a malformed `id`/`prev`.
 * @throws {UnsupportedFormatError} for a newer entry format.
 */
export function decodeEntryLinks(path: string, bytes: Uint8Array, position: number): EntryLinks {
  const end = bytes.indexOf(0x0a);
  if (end < 0) throw new CorruptFileError(path, 'no header line (not a feed entry, or truncated)');
  const header = readHeader(path, bytes.subarray(0, end), position);
  const links: { id?: string; prev?: string } = {};
  for (const field of ['id', 'prev'] as const) {
    const value = header[field];
    if (value === undefined) continue;
    if (!isStr(value) || !ENTRY_ID.test(value)) {
      throw new CorruptFileError(path, `malformed "${field}" in feed entry header (expected 16 lowercase hex digits)`);
    }
    links[field] = value;
  }
  return links;
}
