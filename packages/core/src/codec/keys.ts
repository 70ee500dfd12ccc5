import { randomBytes } from 'node:crypto';
import {
  ConfigurationError,
  CorruptFileError,
  ErrorCode,
  ForgottenError,
  isEvsrcError,
  MissingKeyError,
  UnsupportedFormatError,
} from '../errors.js';
import { openSealedFile, sealFile } from '../format/envelope.js';
import { aggregateFolder } from '../format/layout.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem, readWithin } from '../storage/guarded.js';
import { KEY_BYTES, open, seal } from './encryption.js';

/**
 * Encryption keys: the store's keyring of master keys (rotation), and the per-aggregate
 * data keys of crypto-shredding, each stored wrapped by a master key in the aggregate's
 * folder.
 *
 * @module
 */

/** Encryption settings of a store (the `encryption` of {@link CodecOptions}). */
export interface EncryptionOptions {
  /**
   * Every key this process may read with, by key id (1–64 of `A-Z a-z 0-9 . _ -`); each a
   * 32-byte AES-256 key. Keep old keys here after a rotation: files name the key they need.
   */
  readonly keys: Readonly<Record<string, Uint8Array>>;
  /** The id of the key new files (and new data keys) are encrypted with. */
  readonly currentKey: string;
  /**
   * Crypto-shredding: encrypt each aggregate with its own random data key, stored in
   * `{type}/{id}/data.key` wrapped by the current master key; {@link Repository.forget}
   * destroys it. Default `false`: files are encrypted with the master key itself.
   */
  readonly perAggregateKeys?: boolean;
}

/** A data key file is a few hundred bytes: anything over 64 KiB is refused unread. */
const KEY_FILE_READ = { maxBytes: 64 * 1024 } as const;

/**
 * Data key files (and tombstones) are written as format 2: a header line sealed with
 * `hcrc32`, then the wrapped key as raw bytes, covered by the header's `crc32`. Format 1
 * (one line of JSON, no checksum) is still read: its files start with exactly
 * {@link FIRST_FORMAT_START}, which no single damaged bit of a format-2 file can produce.
 */
const KEY_FILE_FORMAT = 2;
const FIRST_FORMAT_START = '{"evsrc":1,';
const firstFormatStart = new TextEncoder().encode(FIRST_FORMAT_START);
const isFirstFormat = (bytes: Uint8Array) =>
  bytes.byteLength >= firstFormatStart.byteLength && firstFormatStart.every((b, i) => bytes[i] === b);

/** The header `key` value of a file encrypted with its aggregate's data key. */
export const AGGREGATE_KEY = '@aggregate';
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const encoder = new TextEncoder();

/** A checked set of master keys. */
export class Keyring {
  readonly #keys = new Map<string, Uint8Array>();

  /** @throws {ConfigurationError} for a bad key id, a key that is not 32 bytes, or an unknown current key. */
  constructor(readonly options: EncryptionOptions) {
    for (const [id, key] of Object.entries(options.keys)) {
      if (!KEY_ID.test(id))
        throw new ConfigurationError(`Encryption key id ${JSON.stringify(id)} must match ${KEY_ID}`);
      if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) {
        throw new ConfigurationError(`Encryption key ${JSON.stringify(id)} must be ${KEY_BYTES} bytes (AES-256)`);
      }
      this.#keys.set(id, key);
    }
    if (!this.#keys.has(options.currentKey)) {
      throw new ConfigurationError(
        `The current encryption key ${JSON.stringify(options.currentKey)} is not in the keyring`,
      );
    }
  }

  /** The id of the key new files use. */
  get currentId(): string {
    return this.options.currentKey;
  }

  /**
   * The key of id `id`.
   * @throws {MissingKeyError} naming `path` when it is not in the keyring.
   */
  get(path: string, id: string): Uint8Array {
    const key = this.#keys.get(id);
    if (!key) throw new MissingKeyError(path, id);
    return key;
  }
}

/** The path of an aggregate's data key file. */
export function dataKeyPath(type: string, id: string): string {
  return `${aggregateFolder(type, id)}data.key`;
}

const dataKeyAad = (type: string, id: string) => encoder.encode(JSON.stringify(['data-key', type, id]));

/** Fetches, creates and destroys aggregates' data keys; keeps the ones it used in memory. */
export class DataKeys {
  readonly #cache = new Map<string, Uint8Array>();
  /** {@link fileSystem}, its calls guarded. */
  readonly #guarded: GuardedFileSystem;

  constructor(
    readonly fileSystem: FileSystem,
    readonly keyring: Keyring,
    /** Data keys kept in memory (default 10,000). */
    readonly maxCached = 10_000,
  ) {
    this.#guarded = GuardedFileSystem.of(fileSystem);
  }

  /**
   * The data key of an aggregate, to read its files.
   * @throws {ForgottenError} when the key was destroyed (or is gone).
   * @throws {MissingKeyError} when its master key is not in the keyring.
   */
  async forRead(type: string, id: string): Promise<Uint8Array> {
    const key = await this.#fetch(type, id);
    if (!key) throw new ForgottenError(type, id);
    return key;
  }

  /**
   * The data key of an aggregate, to write: the stored one, or a new one stored now with
   * create-if-absent (of two racing writers, both end up with the one that landed).
   * @throws {ForgottenError} when the aggregate was forgotten: it can never be written again.
   */
  async forWrite(type: string, id: string): Promise<Uint8Array> {
    const existing = await this.#fetch(type, id, true);
    if (existing) return existing;
    const path = dataKeyPath(type, id);
    const key = new Uint8Array(randomBytes(KEY_BYTES));
    const master = this.keyring.currentId;
    const sealed = seal(this.keyring.get(path, master), key, dataKeyAad(type, id));
    const header = { evsrc: KEY_FILE_FORMAT, kind: 'data-key', type, id, key: master, iv: sealed.iv };
    const file = sealFile({ ...header, bytes: sealed.data.byteLength }, sealed.data);
    try {
      await this.#guarded.create(path, file);
    } catch (error) {
      if (!isEvsrcError(error, ErrorCode.FileExists)) throw error;
      return this.forRead(type, id);
    }
    this.#remember(type, id, key);
    return key;
  }

  /**
   * Destroys an aggregate's data key: its key file is replaced by a tombstone, so every
   * file encrypted with it is unreadable for good and loads fail with {@link ForgottenError}.
   */
  async forget(type: string, id: string): Promise<void> {
    const path = dataKeyPath(type, id);
    const none = new Uint8Array(0);
    const tombstone = sealFile({ evsrc: KEY_FILE_FORMAT, kind: 'data-key', type, id, forgotten: true, bytes: 0 }, none);
    this.#cache.delete(`${type}\0${id}`);
    await this.#guarded.replace(path, tombstone);
  }

  /** The key, `undefined` when forgotten (or, with `absentOk`, when none exists yet). */
  async #fetch(type: string, id: string, absentOk = false): Promise<Uint8Array | undefined> {
    const cached = this.#cache.get(`${type}\0${id}`);
    if (cached) return cached;
    const path = dataKeyPath(type, id);
    const bytes = await readWithin(this.fileSystem, path, KEY_FILE_READ);
    if (bytes === undefined) {
      if (absentOk) return undefined;
      throw new ForgottenError(type, id);
    }
    const { file, wrapped } = isFirstFormat(bytes) ? readFirstFormat(path, bytes) : readSealed(path, bytes);
    if (file.forgotten === true) throw new ForgottenError(type, id);
    if (file.type !== type || file.id !== id || typeof file.key !== 'string' || typeof file.iv !== 'string') {
      throw new CorruptFileError(path, 'malformed data key file');
    }
    const key = open(path, this.keyring.get(path, file.key), { data: wrapped, iv: file.iv }, dataKeyAad(type, id));
    this.#remember(type, id, key);
    return key;
  }

  #remember(type: string, id: string, key: Uint8Array): void {
    if (this.#cache.size >= this.maxCached) this.#cache.clear();
    this.#cache.set(`${type}\0${id}`, key);
  }
}

/** A data key file's fields and its wrapped key. */
interface KeyFile {
  readonly file: Record<string, unknown>;
  readonly wrapped: Uint8Array;
}

/** Reads a format-1 data key file (one line of JSON, no checksum) exactly as before format 2. */
function readFirstFormat(path: string, bytes: Uint8Array): KeyFile {
  let file: Record<string, unknown>;
  try {
    file = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch (error) {
    throw new CorruptFileError(path, 'unreadable data key file', error);
  }
  // Only format 2 has checksums: one in a format-1 file means a damaged format-2 file.
  if (typeof file !== 'object' || file === null || 'hcrc32' in file) {
    throw new CorruptFileError(path, 'malformed data key file');
  }
  return { file, wrapped: new Uint8Array(Buffer.from(String(file.wrapped), 'base64')) };
}

/**
 * Reads a format-2 data key file: both checksums first, then its kind and version.
 * @throws {CorruptFileError} naming `path` for any damage; {@link UnsupportedFormatError} for a newer format.
 */
function readSealed(path: string, bytes: Uint8Array): KeyFile {
  const { header, body } = openSealedFile(path, bytes, 'data key file');
  if (header.kind !== 'data-key' || !Number.isSafeInteger(header.evsrc) || (header.evsrc as number) < 2) {
    throw new CorruptFileError(path, 'malformed data key file');
  }
  if ((header.evsrc as number) > KEY_FILE_FORMAT) {
    throw new UnsupportedFormatError(path, `data key file format ${header.evsrc} is newer than ${KEY_FILE_FORMAT}`);
  }
  if (header.bytes === undefined || (header.forgotten === true && body.byteLength !== 0)) {
    throw new CorruptFileError(path, 'malformed data key file');
  }
  return { file: header, wrapped: body };
}
