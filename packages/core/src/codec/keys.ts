import { randomBytes } from 'node:crypto';
import {
  ConfigurationError,
  CorruptFileError,
  ErrorCode,
  ForgottenError,
  isEvsrcError,
  MissingKeyError,
} from '../errors.js';
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

/** A data key file is one line of a few hundred bytes: anything over 64 KiB is refused unread. */
const KEY_FILE_READ = { maxBytes: 64 * 1024 } as const;

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
    const file = { evsrc: 1, kind: 'data-key', type, id, key: master, iv: sealed.iv };
    const line = `${JSON.stringify({ ...file, wrapped: Buffer.from(sealed.data).toString('base64') })}\n`;
    try {
      await this.#guarded.create(path, encoder.encode(line));
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
    const tombstone = `${JSON.stringify({ evsrc: 1, kind: 'data-key', type, id, forgotten: true })}\n`;
    this.#cache.delete(`${type}\0${id}`);
    await this.#guarded.replace(path, encoder.encode(tombstone));
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
    let file: Record<string, unknown>;
    try {
      file = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    } catch (error) {
      throw new CorruptFileError(path, 'unreadable data key file', error);
    }
    if (file.forgotten === true) throw new ForgottenError(type, id);
    if (file.type !== type || file.id !== id || typeof file.key !== 'string' || typeof file.iv !== 'string') {
      throw new CorruptFileError(path, 'malformed data key file');
    }
    const wrapped = new Uint8Array(Buffer.from(String(file.wrapped), 'base64'));
    const key = open(path, this.keyring.get(path, file.key), { data: wrapped, iv: file.iv }, dataKeyAad(type, id));
    this.#remember(type, id, key);
    return key;
  }

  #remember(type: string, id: string, key: Uint8Array): void {
    if (this.#cache.size >= this.maxCached) this.#cache.clear();
    this.#cache.set(`${type}\0${id}`, key);
  }
}
