// Over 300 lines: the file envelope's writing and reading side by side, so the two stay in step.
import { crc32 } from 'node:zlib';
import { CorruptFileError, UnsupportedFormatError } from '../errors.js';

/**
 * Every evsrc file is one line of JSON (the header), a newline, then the body written by
 * the parser the header names. See `docs/reference/format.md`.
 *
 * @module
 */

/**
 * The newest version of the file format this code reads. Files whose body went through
 * codec stages (compression, encryption) are written as version 2, so that readers that
 * predate the stages refuse them instead of misreading them; plain files are still
 * written as version 1, byte for byte as before.
 */
export const FORMAT_VERSION = 2;
/** The format version of plain files (no codec stages). */
export const PLAIN_FORMAT_VERSION = 1;

/** The header fields the codec pipeline adds to a file it transformed (see `codec/pipeline.ts`). */
export interface CodecFields {
  /** The stages applied after the parser, in order (e.g. `["deflate", "aes-256-gcm"]`). */
  codec?: string[];
  /** The id of the encryption key; `"@aggregate"` for the aggregate's data key. */
  key?: string;
  /** The AES-GCM IV, base64url. */
  iv?: string;
  /**
   * The body's length before the stages (the parser's output), in bytes: written with a
   * compression stage, so that a reader bounds decompression by it. Absent in older files.
   */
  raw?: number;
}

/** Header of a batch file. */
export interface BatchHeader extends CodecFields {
  evsrc: number;
  kind: 'batch';
  /** Name of the `EventBatchParser` that wrote the body. */
  parser: string;
  /** Aggregate type and id, as given (not encoded). */
  type: string;
  id: string;
  /** Versions of the first and last event in the batch. */
  first: number;
  last: number;
  /** The save's commit id, used to recognise a retried save that already landed. */
  commit: string;
  /**
   * The batch's place in the change feed (`"{partition}/{position}:{index}"`; `"{position}:{index}"` on a feed of one log from before partitions), when the store's
   * feed is on: the batch was logged there, and only there is it counted.
   */
  feed?: string;
  /** Body length in bytes and its CRC-32. */
  bytes: number;
  crc32: number;
  /** CRC-32 of the header line before this field (absent in files written before it was added). */
  hcrc32?: number;
}

/** Header of a snapshot file. */
export interface SnapshotHeader extends CodecFields {
  evsrc: number;
  kind: 'snapshot';
  /** Name of the `AggregateParser` that wrote the body. */
  parser: string;
  type: string;
  id: string;
  /** The state is the one after this version. */
  version: number;
  /** Timestamp of the event at `version`. */
  timestamp: number;
  /** The aggregate class's `snapshotVersion` when the state was written (absent: 1). */
  schema?: number;
  /**
   * First version of the batch file that ends at `version` (absent in snapshots written
   * before it was recorded): a load checks that this batch exists and ends there.
   */
  batch?: number;
  bytes: number;
  crc32: number;
  /** CRC-32 of the header line before this field (absent in files written before it was added). */
  hcrc32?: number;
}

type AnyHeader = BatchHeader | SnapshotHeader;
/** The header fields a writer gives (distributes over the kinds, so a literal is checked against its own kind). */
type HeaderFields<H extends AnyHeader> = H extends AnyHeader ? Omit<H, 'evsrc' | 'bytes' | 'crc32' | 'hcrc32'> : never;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');
const NEWLINE = 0x0a;
/** Headers hold an id of at most 200 encoded bytes; anything much longer is not a header. */
const MAX_HEADER_BYTES = 16 * 1024;

/** The last field of a header: the CRC-32 of the header line's bytes before it. */
const HEADER_CRC = 'hcrc32';

/**
 * Joins a header and a body into the bytes of one file. The header ends with `crc32` (of
 * the body) and `hcrc32` (of the header line before `,"hcrc32":`, `crc32` included), so a
 * change to any byte of the file is detected.
 */
export function writeFile<H extends AnyHeader = AnyHeader>(fields: HeaderFields<H>, body: Uint8Array): Uint8Array {
  const { [HEADER_CRC]: _ignored, ...rest } = fields as HeaderFields<H> & { hcrc32?: unknown };
  const staged = Array.isArray((rest as CodecFields).codec) && ((rest as CodecFields).codec as string[]).length > 0;
  const evsrc = staged ? FORMAT_VERSION : PLAIN_FORMAT_VERSION;
  return sealFile({ evsrc, ...rest, bytes: body.byteLength }, body);
}

/**
 * The bytes of a file whose header line is sealed: `header`'s fields, then `crc32` (of
 * `body`) and `hcrc32` (see {@link sealHeader}), a newline, then `body`. Batches,
 * snapshots, feed entries and data key files are all written by it; read one back with
 * {@link openSealedFile} (or, for batches and snapshots, {@link readFile}).
 */
export function sealFile(header: object, body: Uint8Array): Uint8Array {
  const head = sealHeader({ ...header, crc32: crc32(body) });
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head, 0);
  out.set(body, head.byteLength);
  return out;
}

/**
 * Splits a file written by {@link sealFile} into its header and body, and checks both
 * checksums: the header must end with `hcrc32` (an unsealed header is refused), the body
 * must match its `crc32`, and its length `bytes` when the header has that field. Only
 * the envelope is checked: the header's other fields are the caller's to check.
 * @param what what the file is, for error messages (e.g. `"feed entry"`).
 * @throws {CorruptFileError} naming `path` when anything does not hold.
 */
export function openSealedFile(
  path: string,
  bytes: Uint8Array,
  what: string,
): { header: Record<string, unknown>; body: Uint8Array } {
  const end = bytes.indexOf(NEWLINE);
  if (end < 0) throw new CorruptFileError(path, `no header line (not a ${what}, or truncated)`);
  const line = bytes.subarray(0, end);
  let header: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(decoder.decode(line));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    header = parsed as Record<string, unknown>;
  } catch (error) {
    throw new CorruptFileError(path, `unreadable ${what} header: ${(error as Error).message}`, error);
  }
  checkHeaderEnd(path, line, header, { sealed: true });
  const body = bytes.subarray(end + 1);
  if (!isInt(header.crc32)) throw new CorruptFileError(path, `malformed ${what} header (no "crc32")`);
  if (header.bytes !== undefined) checkBodyLength(path, body.byteLength, header);
  if (crc32(body) !== header.crc32) {
    throw new CorruptFileError(path, `${what} checksum mismatch (the body was altered)`);
  }
  return { header, body };
}

/**
 * The header line of a file: `header` as one line of JSON whose last field, `hcrc32`, is
 * the CRC-32 of the line's bytes before `,"hcrc32":`; then a newline. Read it back with
 * {@link checkHeaderEnd}.
 */
export function sealHeader(header: object): Uint8Array {
  const covered = JSON.stringify(header).slice(0, -1); // without the closing brace
  return encoder.encode(`${covered},"${HEADER_CRC}":${crc32(encoder.encode(covered))}}\n`);
}

/** A file split into its checked header and its body. */
export interface ParsedFile<H extends AnyHeader> {
  header: H;
  body: Uint8Array;
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';

/**
 * Splits a file into header and body and checks the header's shape, the body's length
 * and its checksum.
 * @throws {CorruptFileError} naming `path` for anything malformed.
 * @throws {UnsupportedFormatError} for a newer format version or another kind of file.
 */
export function readFile<K extends AnyHeader['kind']>(
  path: string,
  bytes: Uint8Array,
  kind: K,
): ParsedFile<Extract<AnyHeader, { kind: K }>> {
  const { header, end } = readHeader(path, bytes, kind);
  const body = bytes.subarray(end + 1);
  checkBodyLength(path, body.byteLength, header);
  if (crc32(body) !== header.crc32) throw new CorruptFileError(path, 'checksum mismatch (the body was altered)');
  return { header: header as unknown as Extract<AnyHeader, { kind: K }>, body };
}

/**
 * Checks the first bytes of a `kind` file of `size` bytes before the rest is read (a
 * `FileSystem.read` `head` check): its header line as {@link readFile} does, and that the
 * size is what the header says. A large file that is not an evsrc file, or is truncated or
 * padded, is refused before it is read whole. Given fewer first bytes than a header may
 * take (and than the file holds), it checks nothing: {@link readFile} will.
 * @throws {CorruptFileError} {UnsupportedFormatError} as {@link readFile}.
 */
export function checkHead(path: string, first: Uint8Array, size: number, kind: AnyHeader['kind']): void {
  if (first.byteLength < Math.min(size, MAX_HEADER_BYTES)) return;
  const { header, end } = readHeader(path, first, kind);
  checkBodyLength(path, size - end - 1, header);
}

function checkBodyLength(path: string, length: number, header: Record<string, unknown>): void {
  if (length !== header.bytes) {
    throw new CorruptFileError(path, `body is ${length} bytes, header says ${header.bytes} (truncated or padded)`);
  }
}

/** Finds, parses and checks the header line at the start of `bytes`; `end` is the index of its newline. */
function readHeader(
  path: string,
  bytes: Uint8Array,
  kind: AnyHeader['kind'],
): { header: Record<string, unknown>; end: number } {
  const limit = Math.min(bytes.byteLength, MAX_HEADER_BYTES);
  const end = bytes.subarray(0, limit).indexOf(NEWLINE);
  if (end < 0) throw new CorruptFileError(path, 'no header line (not an evsrc file, or truncated)');
  let header: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(decoder.decode(bytes.subarray(0, end)));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    header = parsed as Record<string, unknown>;
  } catch (error) {
    throw new CorruptFileError(path, `unreadable header: ${(error as Error).message}`, error);
  }
  if (!isInt(header.evsrc) || header.evsrc < 1) {
    throw new CorruptFileError(path, 'header has no valid "evsrc" format version');
  }
  if (header.evsrc > FORMAT_VERSION) {
    throw new UnsupportedFormatError(
      path,
      `format version ${header.evsrc} is newer than ${FORMAT_VERSION}; upgrade evsrc`,
    );
  }
  checkHeaderEnd(path, bytes.subarray(0, end), header);
  if (header.kind !== kind) {
    throw new UnsupportedFormatError(path, `expected a ${kind} file, found ${JSON.stringify(header.kind)}`);
  }
  const common =
    isStr(header.parser) && isStr(header.type) && isStr(header.id) && isInt(header.bytes) && isInt(header.crc32);
  const specific =
    kind === 'batch'
      ? isInt(header.first) &&
        isInt(header.last) &&
        isStr(header.commit) &&
        (header.feed === undefined || isStr(header.feed)) &&
        (header.last as number) >= (header.first as number)
      : isInt(header.version) &&
        typeof header.timestamp === 'number' &&
        Number.isFinite(header.timestamp) &&
        (header.batch === undefined ||
          (isInt(header.batch) && header.batch >= 1 && header.batch <= (header.version as number)));
  if (!common || !specific || !codecFieldsValid(header)) throw new CorruptFileError(path, `malformed ${kind} header`);
  return { header, end };
}

/** The codec fields are absent (a plain file) or well-formed, and only in a version-2 file. */
function codecFieldsValid(header: Record<string, unknown>): boolean {
  const { codec, key, iv, schema, raw } = header;
  if (schema !== undefined && !(isInt(schema) && schema >= 1)) return false;
  if (codec === undefined) return key === undefined && iv === undefined && raw === undefined;
  if (raw !== undefined && !isInt(raw)) return false;
  return (
    (header.evsrc as number) >= 2 &&
    Array.isArray(codec) &&
    codec.every(isStr) &&
    (key === undefined || isStr(key)) &&
    (iv === undefined || isStr(iv))
  );
}

/**
 * Checks how the header line ends. Files written since `hcrc32` exists end with
 * `,"hcrc32":N}`, and N must be the CRC-32 of the line's bytes before that comma. Older
 * files end with `,"crc32":N}` and have no `hcrc32` (their header is not covered by a
 * checksum); any other ending is refused, so that damage to the `hcrc32` key itself cannot
 * pass a new file off as an old one. With `sealed: true` (formats that always had `hcrc32`),
 * an old-style ending is refused too.
 * @throws {CorruptFileError} naming `path`.
 */
export function checkHeaderEnd(
  path: string,
  line: Uint8Array,
  header: Record<string, unknown>,
  options: { readonly sealed?: boolean } = {},
): void {
  const sealed = HEADER_CRC in header;
  if (options.sealed && !sealed) throw new CorruptFileError(path, `malformed header (no "${HEADER_CRC}" at its end)`);
  const field = sealed ? HEADER_CRC : 'crc32';
  const value = header[field];
  // Only an integer is turned into text: any other value (e.g. {"toString":1}) could throw.
  const suffix = isInt(value) ? `,"${field}":${value}}` : undefined;
  const covered = suffix === undefined ? 0 : line.byteLength - suffix.length;
  const tail = covered > 0 ? latin1.decode(line.subarray(covered)) : '';
  if (suffix === undefined || tail !== suffix) {
    throw new CorruptFileError(
      path,
      `malformed header (it must end with an integer "${HEADER_CRC}" or, in old files, "crc32")`,
    );
  }
  if (sealed && crc32(line.subarray(0, covered)) !== value) {
    throw new CorruptFileError(path, 'header checksum mismatch (the header was altered)');
  }
}
