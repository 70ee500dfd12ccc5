// Over 300 lines: FileCodec encodes and decodes batch and snapshot files symmetrically; halves would drift apart.
import type { DataKeys } from '../codec/keys.js';
import { CodecPipeline, type FilePlace, needsDataKey } from '../codec/pipeline.js';
import {
  CorruptFileError,
  FileTooLargeError,
  MisplacedFileError,
  MissingKeyError,
  UnsupportedFormatError,
} from '../errors.js';
import { formatCheckpoint } from '../feed/layout.js';
import {
  type BatchHeader,
  checkHead,
  type ParsedFile,
  readFile,
  type SnapshotHeader,
  writeFile,
} from '../format/envelope.js';
import { batchPath, snapshotPath } from '../format/layout.js';
import type { EventMetadata, StoredEvent } from '../model/event-record.js';
import type { Format } from '../parsers/parser.js';
import type { FileSystem } from '../storage/file-system.js';
import { byteLimit, readWithin } from '../storage/guarded.js';

/** The default of the repository's `maxFileBytes`: 256 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;
/** Headers are far smaller (at most 16 KiB): a body this far below the limit makes a file below it. */
const NEAR_LIMIT = 64 * 1024;
/** The longest feed place a batch header can name (a 3-digit partition, 12-digit position, 256 batches per entry, an entry id). */
const LONGEST_CHECKPOINT = `999/${formatCheckpoint({ position: 999_999_999_999, index: 255, id: 'f'.repeat(16) })}`;
/** `hcrc32` is written in up to 10 digits (as few as 1). */
const HCRC_DIGITS = 9;

/** A batch file, checked against its path and decoded. */
export interface DecodedBatch {
  readonly path: string;
  readonly header: BatchHeader;
  readonly events: StoredEvent[];
}

/** A snapshot file, checked against its path and decoded. */
export interface DecodedSnapshot {
  readonly path: string;
  readonly header: SnapshotHeader;
  readonly state: unknown;
}

type Derived = 'evsrc' | 'bytes' | 'crc32' | 'kind' | 'parser' | 'codec' | 'key' | 'iv';
/** The header fields a caller gives for a new batch. */
export type BatchFields = Omit<BatchHeader, Derived>;
/** The header fields a caller gives for a new snapshot. */
export type SnapshotFields = Omit<SnapshotHeader, Derived>;

/**
 * Encodes and decodes evsrc files: one format (parser) and one {@link CodecPipeline} for
 * writing; any known format and any codec stages the header names for reading.
 */
export class FileCodec {
  readonly #formats = new Map<string, Format>();
  /** The largest batch or snapshot file read or written, in bytes. */
  readonly maxFileBytes: number;

  /**
   * @param pipeline the codec stages for new files, and the keys to read encrypted ones (default: plain).
   * @param dataKeys where per-aggregate data keys come from (needed to read or write files encrypted with them).
   * @param maxFileBytes the largest file read or written (default 256 MiB; `Infinity`: the platform's largest buffer).
   * @throws {ConfigurationError} for a `maxFileBytes` that is not a number of at least 1.
   */
  constructor(
    readonly writeFormat: Format,
    readable: readonly Format[],
    readonly pipeline: CodecPipeline = new CodecPipeline(),
    readonly dataKeys?: DataKeys,
    maxFileBytes?: number,
  ) {
    for (const f of [writeFormat, ...readable]) this.#formats.set(f.name, f);
    this.maxFileBytes = byteLimit('maxFileBytes', maxFileBytes, DEFAULT_MAX_FILE_BYTES);
  }

  /**
   * Reads the bytes of a batch or snapshot file from `fs`: a file over {@link maxFileBytes}
   * is refused before it is read (where `fs` knows the size first, else after), and a large
   * file's header is checked against its size before the rest is read (where `fs` reads in
   * steps), so a big file that is not an evsrc file, or truncated, costs one small read.
   * Decode the bytes with {@link readBatch} / {@link readSnapshot}, which check them whole.
   * @throws {FileTooLargeError} {CorruptFileError} {UnsupportedFormatError} {StorageError}
   */
  fetch(fs: FileSystem, path: string, kind: 'batch' | 'snapshot'): Promise<Uint8Array | undefined> {
    return readWithin(fs, path, {
      maxBytes: this.maxFileBytes,
      head: (first, size) => checkHead(path, first, size, kind),
    });
  }

  /** Refuses to write a file no reader with these limits could read. */
  #checkWritable(path: () => string, size: number, fields: { raw?: number }): void {
    if (size > this.maxFileBytes) throw new FileTooLargeError(path(), size, this.maxFileBytes);
    const max = this.pipeline.maxDecompressedBytes;
    if (fields.raw !== undefined && fields.raw > max) {
      throw new FileTooLargeError(path(), fields.raw, max, 'codec.maxDecompressedBytes', 'its body decompresses to');
    }
  }

  /**
   * Encodes a batch file; `dataKey` is the aggregate's data key when the pipeline writes with data keys.
   * @throws {FileTooLargeError} when the file would be over {@link maxFileBytes} (or its body over `maxDecompressedBytes`).
   */
  encodeBatch(fields: BatchFields, events: readonly StoredEvent[], dataKey?: Uint8Array): Uint8Array {
    return this.stageBatch(fields, events, dataKey)(fields.feed);
  }

  /**
   * Encodes a batch's body once (parser, compression, encryption) and returns a function
   * that writes the file around it with a given feed checkpoint in its header: a save that
   * loses the race for a feed position re-stamps the header only. The checkpoint is not
   * part of the encrypted body nor of its authenticated data.
   */
  stageBatch(
    fields: BatchFields,
    events: readonly StoredEvent[],
    dataKey?: Uint8Array,
  ): (feed: string | undefined) => Uint8Array {
    const place: FilePlace = { kind: 'batch', type: fields.type, id: fields.id, position: fields.first };
    const staged = this.pipeline.encode(this.writeFormat.events.encode(events), place, dataKey);
    const { feed: _given, ...rest } = fields;
    const parser = this.writeFormat.events.name;
    const build = (feed: string | undefined) =>
      writeFile<BatchHeader>(
        { kind: 'batch', parser, ...rest, ...(feed === undefined ? {} : { feed }), ...staged.fields },
        staged.body,
      );
    // Checked now, before a feed logs the batch (a refusal in the feed writer would fail every
    // save grouped with it). Far below the limit the body's size is enough; near it, the file
    // is built once with the longest checkpoint and hcrc32 (erring by at most 40 bytes).
    const near = staged.body.byteLength + NEAR_LIMIT > this.maxFileBytes;
    const longest = near ? build(LONGEST_CHECKPOINT).byteLength + HCRC_DIGITS : 0;
    this.#checkWritable(() => batchPath(fields.type, fields.id, fields.first), longest, staged.fields);
    return build;
  }

  /** Encodes a snapshot file; `dataKey` and errors as for {@link encodeBatch}. */
  encodeSnapshot(fields: SnapshotFields, state: unknown, dataKey?: Uint8Array): Uint8Array {
    const place: FilePlace = { kind: 'snapshot', type: fields.type, id: fields.id, position: fields.version };
    const staged = this.pipeline.encode(this.writeFormat.snapshots.encode(state), place, dataKey);
    const header = { kind: 'snapshot' as const, parser: this.writeFormat.snapshots.name, ...fields, ...staged.fields };
    const bytes = writeFile<SnapshotHeader>(header, staged.body);
    this.#checkWritable(() => snapshotPath(fields.type, fields.id, fields.version), bytes.byteLength, staged.fields);
    return bytes;
  }

  /** The aggregate's data key when new files need one (fetched or created through `dataKeys`), else `undefined`. */
  async writeKey(type: string, id: string): Promise<Uint8Array | undefined> {
    if (!this.pipeline.writesWithDataKeys) return undefined;
    if (!this.dataKeys) throw new MissingKeyError('(new file)', '@aggregate');
    return this.dataKeys.forWrite(type, id);
  }

  /** Like {@link decodeBatch}, fetching the aggregate's data key first when the file needs it. */
  async readBatch(
    path: string,
    bytes: Uint8Array,
    expected: { type: string; id: string; first: number },
  ): Promise<DecodedBatch> {
    const parsed = readFile(path, bytes, 'batch');
    checkPlace(path, parsed.header, expected);
    return this.#batch(path, parsed, expected, await this.#readKey(path, parsed.header, expected));
  }

  /**
   * Like {@link readBatch}, but parses the file once and decodes it only when `accept`
   * takes its header (checked against where it was found first); else `undefined`.
   */
  async readBatchIf(
    path: string,
    bytes: Uint8Array,
    expected: { type: string; id: string; first: number },
    accept: (header: BatchHeader) => boolean,
  ): Promise<DecodedBatch | undefined> {
    const parsed = readFile(path, bytes, 'batch');
    checkPlace(path, parsed.header, expected);
    if (parsed.header.first !== expected.first) {
      throw new MisplacedFileError(path, `its header says it starts at version ${parsed.header.first}`);
    }
    if (!accept(parsed.header)) return undefined;
    return this.#batch(path, parsed, expected, await this.#readKey(path, parsed.header, expected));
  }

  /** Like {@link decodeSnapshot}, fetching the aggregate's data key first when the file needs it. */
  async readSnapshot(
    path: string,
    bytes: Uint8Array,
    expected: { type: string; id: string; version: number },
  ): Promise<DecodedSnapshot> {
    const parsed = readFile(path, bytes, 'snapshot');
    checkPlace(path, parsed.header, expected);
    return this.#snapshot(path, parsed, expected, await this.#readKey(path, parsed.header, expected));
  }

  async #readKey(
    path: string,
    header: BatchHeader | SnapshotHeader,
    expected: { type: string; id: string },
  ): Promise<Uint8Array | undefined> {
    if (!needsDataKey(header)) return undefined;
    if (!this.dataKeys) throw new MissingKeyError(path, '@aggregate');
    return this.dataKeys.forRead(expected.type, expected.id);
  }

  /** Reads only the header of a batch, checked against where it was found. */
  batchHeader(path: string, bytes: Uint8Array, expected: { type: string; id: string; first?: number }): BatchHeader {
    const { header } = readFile(path, bytes, 'batch');
    checkPlace(path, header, expected);
    if (expected.first !== undefined && header.first !== expected.first) {
      throw new MisplacedFileError(path, `its header says it starts at version ${header.first}`);
    }
    return header;
  }

  /**
   * Decodes a batch and checks it belongs at `path`.
   * @throws {CorruptFileError} {MisplacedFileError} {UnsupportedFormatError}
   */
  decodeBatch(
    path: string,
    bytes: Uint8Array,
    expected: { type: string; id: string; first: number },
    dataKey?: Uint8Array,
  ): DecodedBatch {
    return this.#batch(path, readFile(path, bytes, 'batch'), expected, dataKey);
  }

  #batch(
    path: string,
    { header, body: stored }: ParsedFile<BatchHeader>,
    expected: { type: string; id: string; first: number },
    dataKey: Uint8Array | undefined,
  ): DecodedBatch {
    checkPlace(path, header, expected);
    if (header.first !== expected.first) {
      throw new MisplacedFileError(path, `its header says it starts at version ${header.first}`);
    }
    const format = this.#format(path, header.parser);
    const place: FilePlace = { kind: 'batch', type: header.type, id: header.id, position: header.first };
    const body = this.pipeline.decode(path, header, stored, place, dataKey);
    let decoded: unknown;
    try {
      decoded = format.events.decode(body);
    } catch (error) {
      throw new CorruptFileError(
        path,
        `the ${header.parser} body cannot be decoded: ${(error as Error)?.message}`,
        error,
      );
    }
    const count = header.last - header.first + 1;
    if (!Array.isArray(decoded) || decoded.length !== count) {
      throw new CorruptFileError(path, `expected ${count} events in the body`);
    }
    for (let i = 0; i < count; i++) checkStoredEvent(path, decoded[i], i);
    return { path, header, events: decoded as StoredEvent[] };
  }

  /** Decodes a snapshot and checks it belongs at `path`. */
  decodeSnapshot(
    path: string,
    bytes: Uint8Array,
    expected: { type: string; id: string; version: number },
    dataKey?: Uint8Array,
  ): DecodedSnapshot {
    return this.#snapshot(path, readFile(path, bytes, 'snapshot'), expected, dataKey);
  }

  #snapshot(
    path: string,
    { header, body: stored }: ParsedFile<SnapshotHeader>,
    expected: { type: string; id: string; version: number },
    dataKey: Uint8Array | undefined,
  ): DecodedSnapshot {
    checkPlace(path, header, expected);
    if (header.version !== expected.version) {
      throw new MisplacedFileError(path, `its header says version ${header.version}`);
    }
    const format = this.#format(path, header.parser);
    const place: FilePlace = { kind: 'snapshot', type: header.type, id: header.id, position: header.version };
    const body = this.pipeline.decode(path, header, stored, place, dataKey);
    try {
      return { path, header, state: format.snapshots.decode(body) };
    } catch (error) {
      throw new CorruptFileError(
        path,
        `the ${header.parser} body cannot be decoded: ${(error as Error)?.message}`,
        error,
      );
    }
  }

  #format(path: string, parser: string): Format {
    const format = this.#formats.get(parser);
    if (!format) {
      throw new UnsupportedFormatError(
        path,
        `parser "${parser}" is not known here (known: ${[...this.#formats.keys()].join(', ')})`,
      );
    }
    return format;
  }
}

function checkPlace(path: string, header: { type: string; id: string }, expected: { type: string; id: string }) {
  if (header.type !== expected.type || header.id !== expected.id) {
    throw new MisplacedFileError(
      path,
      `its header names ${header.type} ${JSON.stringify(header.id)}, not ${expected.type} ${JSON.stringify(expected.id)}`,
    );
  }
}

function checkStoredEvent(path: string, value: unknown, index: number): void {
  const bad = (what: string) => new CorruptFileError(path, `event #${index + 1} ${what}`);
  if (typeof value !== 'object' || value === null) throw bad('is not an object');
  const e = value as Partial<StoredEvent>;
  if (typeof e.type !== 'string') throw bad('has no type name');
  if (typeof e.timestamp !== 'number' || !Number.isFinite(e.timestamp)) throw bad('has no timestamp');
  if (!('payload' in e)) throw bad('has no payload');
  if (e.eventId !== undefined && typeof e.eventId !== 'string') throw bad('has a non-string eventId');
  if (e.version !== undefined && !(Number.isSafeInteger(e.version) && e.version >= 1)) {
    throw bad('has a version that is not a positive integer');
  }
  if (e.metadata !== undefined && !isMetadata(e.metadata)) throw bad('has metadata that is not a map of strings');
}

function isMetadata(value: unknown): value is EventMetadata {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === 'string');
}
