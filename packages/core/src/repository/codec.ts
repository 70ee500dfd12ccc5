import { CorruptFileError, MisplacedFileError, UnsupportedFormatError } from '../errors.js';
import { type BatchHeader, readFile, type SnapshotHeader, writeFile } from '../format/envelope.js';
import type { EventMetadata, StoredEvent } from '../model/event-record.js';
import type { Format } from '../parsers/parser.js';

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

/** Encodes and decodes evsrc files with one format for writing and any known format for reading. */
export class FileCodec {
  readonly #formats = new Map<string, Format>();

  constructor(
    readonly writeFormat: Format,
    readable: readonly Format[],
  ) {
    for (const f of [writeFormat, ...readable]) this.#formats.set(f.name, f);
  }

  encodeBatch(
    fields: Omit<BatchHeader, 'evsrc' | 'bytes' | 'crc32' | 'kind' | 'parser'>,
    events: readonly StoredEvent[],
  ) {
    const body = this.writeFormat.events.encode(events);
    return writeFile<BatchHeader>({ kind: 'batch', parser: this.writeFormat.events.name, ...fields }, body);
  }

  encodeSnapshot(fields: Omit<SnapshotHeader, 'evsrc' | 'bytes' | 'crc32' | 'kind' | 'parser'>, state: unknown) {
    const body = this.writeFormat.snapshots.encode(state);
    return writeFile<SnapshotHeader>({ kind: 'snapshot', parser: this.writeFormat.snapshots.name, ...fields }, body);
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
  decodeBatch(path: string, bytes: Uint8Array, expected: { type: string; id: string; first: number }): DecodedBatch {
    const { header, body } = readFile(path, bytes, 'batch');
    checkPlace(path, header, expected);
    if (header.first !== expected.first) {
      throw new MisplacedFileError(path, `its header says it starts at version ${header.first}`);
    }
    const format = this.#format(path, header.parser);
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
  ): DecodedSnapshot {
    const { header, body } = readFile(path, bytes, 'snapshot');
    checkPlace(path, header, expected);
    if (header.version !== expected.version) {
      throw new MisplacedFileError(path, `its header says version ${header.version}`);
    }
    const format = this.#format(path, header.parser);
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
  if (e.metadata !== undefined && !isMetadata(e.metadata)) throw bad('has metadata that is not a map of strings');
}

function isMetadata(value: unknown): value is EventMetadata {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === 'string');
}
