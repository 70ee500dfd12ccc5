import { CorruptFileError, MissingKeyError, UnsupportedFormatError } from '../errors.js';
import type { CodecFields } from '../format/envelope.js';
import { byteLimit } from '../storage/guarded.js';
import { type Compression, checkCompression, compress, decompress, isCompression } from './compression.js';
import { AES_256_GCM, open, seal } from './encryption.js';
import { AGGREGATE_KEY, type EncryptionOptions, Keyring } from './keys.js';

/** Defined with the file format (the header carries them); re-exported here, where the pipeline writes them. */
export type { CodecFields } from '../format/envelope.js';

/**
 * The codec pipeline around the parsers: serialise → compress → encrypt on write, the
 * reverse on read. The header of each file says which stages were applied (`codec`), with
 * which key (`key`) and IV (`iv`), so a store may hold files written with any settings.
 *
 * @module
 */

/** The codec settings of a store (the `codec` option of `Repository`). */
export interface CodecOptions {
  /** Compress bodies before encrypting them (default `'none'`). `zstd` needs Node ≥ 22.15. */
  readonly compression?: Compression | 'none';
  /** Encrypt bodies with AES-256-GCM (default: off). */
  readonly encryption?: EncryptionOptions;
  /**
   * The largest body a file may decompress to, in bytes (default 256 MiB, as `maxFileBytes`):
   * a guard against decompression bombs. New files record their body's size (`raw`), and
   * decompress to exactly that or fail, at no more cost; this bounds files without it
   * (written before it was recorded, or forged to look so), and refuses to write bodies
   * over it, which no reader with this setting could read.
   */
  readonly maxDecompressedBytes?: number;
}

/** Where a file belongs: bound to its ciphertext, so an encrypted file moved elsewhere fails to decrypt. */
export interface FilePlace {
  readonly kind: 'batch' | 'snapshot';
  readonly type: string;
  readonly id: string;
  /** The batch's first version or the snapshot's version. */
  readonly position: number;
}

const encoder = new TextEncoder();
/** The default of {@link CodecOptions.maxDecompressedBytes}: 256 MiB. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/** The additional authenticated data of an encrypted file: its place and the stages before encryption. */
function aad(place: FilePlace, stages: readonly string[]): Uint8Array {
  return encoder.encode(JSON.stringify([place.kind, place.type, place.id, place.position, stages]));
}

/** Applies and undoes the stages configured for a store; reads files written with any stages. */
export class CodecPipeline {
  readonly #compression: Compression | undefined;
  readonly #keyring: Keyring | undefined;
  readonly #perAggregate: boolean;
  readonly #maxBytes: number;

  /** @throws {ConfigurationError} for an unknown or unavailable compression, or bad keys. */
  constructor(options: CodecOptions = {}) {
    const c = options.compression;
    this.#compression = c === undefined || c === 'none' ? undefined : checkCompression(c);
    this.#keyring = options.encryption ? new Keyring(options.encryption) : undefined;
    this.#perAggregate = options.encryption?.perAggregateKeys === true;
    this.#maxBytes = byteLimit(
      'codec.maxDecompressedBytes',
      options.maxDecompressedBytes,
      DEFAULT_MAX_DECOMPRESSED_BYTES,
    );
  }

  /** The largest body a file may decompress to, in bytes ({@link CodecOptions.maxDecompressedBytes}). */
  get maxDecompressedBytes(): number {
    return this.#maxBytes;
  }

  /** The keyring, when encryption is configured. */
  get keyring(): Keyring | undefined {
    return this.#keyring;
  }

  /** Whether new files are encrypted with per-aggregate data keys. */
  get writesWithDataKeys(): boolean {
    return this.#perAggregate;
  }

  /** The stages new files go through after the parser. */
  get stages(): string[] {
    return [...(this.#compression ? [this.#compression] : []), ...(this.#keyring ? [AES_256_GCM] : [])];
  }

  /**
   * Transforms a parser's output for storage.
   * @param dataKey the aggregate's data key, needed when {@link writesWithDataKeys}.
   */
  encode(body: Uint8Array, place: FilePlace, dataKey?: Uint8Array): { body: Uint8Array; fields: CodecFields } {
    const stages: string[] = [];
    let out = body;
    if (this.#compression) {
      out = compress(this.#compression, out);
      stages.push(this.#compression);
    }
    const raw = this.#compression ? { raw: body.byteLength } : {};
    if (!this.#keyring) return { body: out, fields: stages.length ? { codec: stages, ...raw } : {} };
    const keyId = this.#perAggregate ? AGGREGATE_KEY : this.#keyring.currentId;
    const key = this.#perAggregate ? dataKey : this.#keyring.get('(new file)', keyId);
    if (!key) throw new Error('evsrc: a data key is needed to encrypt with perAggregateKeys');
    const sealed = seal(key, out, aad(place, stages));
    return { body: sealed.data, fields: { codec: [...stages, AES_256_GCM], key: keyId, iv: sealed.iv, ...raw } };
  }

  /**
   * Undoes the stages a file's header names, last first. The first stage's decompression
   * (the one that yields the parser's input) is bounded by the header's `raw`, when it has one.
   * @param dataKey the aggregate's data key, for a header whose `key` is `"@aggregate"`.
   * @throws {UnsupportedFormatError} for an unknown stage (or zstd on a Node without it).
   * @throws {MissingKeyError} when the file's key is not in the keyring.
   * @throws {TamperedFileError} when authentication fails.
   * @throws {CorruptFileError} when a stage's data is malformed.
   */
  decode(path: string, header: CodecFields, body: Uint8Array, place: FilePlace, dataKey?: Uint8Array): Uint8Array {
    const stages = header.codec ?? [];
    let out = body;
    for (let i = stages.length - 1; i >= 0; i--) {
      const stage = stages[i] as string;
      if (stage === AES_256_GCM) {
        out = this.#decrypt(path, header, out, place, stages.slice(0, i), dataKey);
      } else if (isCompression(stage)) {
        out = decompress(path, stage, out, this.#maxBytes, i === 0 ? header.raw : undefined);
      } else {
        throw new UnsupportedFormatError(path, `codec stage "${stage}" is not known here`);
      }
    }
    if (header.raw !== undefined && out.byteLength !== header.raw) {
      throw new CorruptFileError(
        path,
        `the body decodes to ${out.byteLength} bytes, its header declares ${header.raw}`,
      );
    }
    return out;
  }

  #decrypt(
    path: string,
    header: CodecFields,
    data: Uint8Array,
    place: FilePlace,
    before: readonly string[],
    dataKey: Uint8Array | undefined,
  ): Uint8Array {
    if (typeof header.key !== 'string' || typeof header.iv !== 'string') {
      throw new CorruptFileError(path, 'an encrypted file needs "key" and "iv" in its header');
    }
    let key: Uint8Array;
    if (header.key === AGGREGATE_KEY) {
      if (!dataKey) throw new MissingKeyError(path, AGGREGATE_KEY);
      key = dataKey;
    } else {
      if (!this.#keyring) throw new MissingKeyError(path, header.key);
      key = this.#keyring.get(path, header.key);
    }
    return open(path, key, { data, iv: header.iv }, aad(place, before));
  }
}

/** Whether a file's header says it is encrypted with its aggregate's data key. */
export function needsDataKey(header: CodecFields): boolean {
  return header.key === AGGREGATE_KEY && (header.codec ?? []).includes(AES_256_GCM);
}
