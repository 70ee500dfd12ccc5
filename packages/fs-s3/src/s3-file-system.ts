// Over 300 lines: one adapter's whole mapping of the FileSystem port onto S3; split by operation would scatter it.
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  type CreateOptions,
  ErrorCode,
  FileExistsError,
  type FileSystem,
  InvalidPathError,
  isEvsrcError,
  type ListOptions,
  MissingPredecessorError,
  type ReadOptions,
  StorageError,
} from '@evsrc/core';
import { assertValidPath, type Listing, openListing, readStreamBody } from '@evsrc/core/adapter';
import { PROBE_FOLDER, probeConditionalWrites } from './conditional-write-probe.js';
import { clientConfigOf, type ResolvedS3Options, resolveOptions, type S3FileSystemOptions } from './options.js';
import { isConditionFailed, isNoSuchKey } from './s3-errors.js';

/** S3's longest object key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** S3's largest page of `ListObjectsV2` and largest batch of `DeleteObjects`. */
export const MAX_PAGE = 1000;

/** Characters an XML 1.0 document cannot hold (or that its parsers rewrite, like CR). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const XML_UNSAFE = /[\u0000-\u0008\u000B-\u001F\uFFFE\uFFFF]/;

/**
 * A {@link FileSystem} on an S3 bucket (AWS S3 or an S3-compatible service), one object
 * per file, keyed `{prefix}{name}`.
 *
 * - `create` is `PutObject` with `If-None-Match: *`: the service writes the object only
 *   if the key is free, atomically; a 412 (or 409 `ConditionalRequestConflict`) becomes a
 *   {@link FileExistsError}. Before the first create it checks once that the service
 *   really honours the header (see {@link S3FileSystemOptions.verifyConditionalWrites}).
 * - `replace` is a plain `PutObject` (S3 replaces objects atomically).
 * - `read` is `GetObject`; `list` is `ListObjectsV2` page by page (S3 lists keys in UTF-8
 *   byte order, the order the contract asks for); `delete` is `DeleteObject`, and
 *   {@link deleteMany} uses `DeleteObjects` in batches of 1,000.
 * - Transient failures (throttling, 5xx, network) are retried by the SDK's retry strategy;
 *   what remains is thrown as a {@link StorageError} naming the file.
 */
export class S3FileSystem implements FileSystem {
  /** The SDK client used for every request. */
  readonly client: S3Client;
  /** The bucket that holds the store. */
  readonly bucket: string;
  /** Prepended to every name to form its key: empty or ending with `/`. */
  readonly keyPrefix: string;
  /** Batch files the repository reads in parallel when it loads an aggregate. */
  readonly readConcurrency: number;
  readonly #options: ResolvedS3Options;
  readonly #ownsClient: boolean;
  #probe: Promise<void> | undefined;

  /** @throws {ConfigurationError} if the options are inconsistent (see {@link S3FileSystemOptions}). */
  constructor(options: S3FileSystemOptions) {
    this.#options = resolveOptions(options);
    this.bucket = this.#options.bucket;
    this.keyPrefix = this.#options.keyPrefix;
    this.readConcurrency = this.#options.readConcurrency;
    this.#ownsClient = options.client === undefined;
    this.client = options.client ?? new S3Client(clientConfigOf(options));
  }

  /**
   * `GetObject`; `undefined` when the key does not exist. The response's `ContentLength`
   * is checked against `options.maxBytes` before the body is read (a refused body is
   * destroyed, which drops its connection); a body over 64 KiB has its first bytes given
   * to `options.head` before the rest is read.
   */
  async read(path: string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    const key = this.#key(path);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      // The body is a stream: read it whole into one fresh array, shared with nobody.
      if (!out.Body) return new Uint8Array(0);
      return await readStreamBody(path, out.Body as AsyncIterable<Uint8Array>, out.ContentLength, options);
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      if (isEvsrcError(error)) throw error; // a file too large, or what options.head threw
      throw new StorageError('read', path, error);
    }
  }

  /**
   * `PutObject` with `If-None-Match: *` (after the one-time probe); with `requires`, a
   * `HeadObject` of that file first (S3 has no condition on another key).
   * @throws {FileExistsError} on 412, or 409 `ConditionalRequestConflict`.
   * @throws {MissingPredecessorError} when `requires` does not exist.
   */
  async create(path: string, data: Uint8Array, options?: CreateOptions): Promise<void> {
    const key = this.#key(path);
    await this.verifyConditionalWrites();
    if (options?.requires !== undefined) await this.#requireExists(path, options.requires);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: data,
          ContentLength: data.byteLength,
          IfNoneMatch: '*',
        }),
      );
    } catch (error) {
      if (isConditionFailed(error)) throw new FileExistsError(path);
      throw new StorageError('create', path, error);
    }
  }

  /** `HeadObject` of `requires`: throws {@link MissingPredecessorError} when it is missing. */
  async #requireExists(path: string, requires: string): Promise<void> {
    const key = this.#key(requires);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isNoSuchKey(error)) throw new MissingPredecessorError(path, requires);
      throw new StorageError('create', path, error);
    }
  }

  /** Plain `PutObject`: S3 replaces the object atomically. */
  async replace(path: string, data: Uint8Array): Promise<void> {
    const key = this.#key(path);
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentLength: data.byteLength }),
      );
    } catch (error) {
      throw new StorageError('replace', path, error);
    }
  }

  /** `DeleteObject`; a missing file is not an error. */
  async delete(path: string): Promise<void> {
    const key = this.#key(path);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isNoSuchKey(error)) return;
      throw new StorageError('delete', path, error);
    }
  }

  /**
   * Deletes many files with `DeleteObjects`, 1,000 per request (S3's limit), one request
   * after the other (names with control characters, which its XML body cannot carry, one by
   * one with `DeleteObject`). Missing files are not an error. Every name is checked before
   * anything is deleted.
   * @throws {InvalidPathError} if a name is invalid (nothing is deleted then).
   * @throws {StorageError} naming the first file the service failed to delete.
   */
  async deleteMany(paths: Iterable<string>): Promise<void> {
    const keys = new Map<string, string>();
    for (const path of paths) keys.set(this.#key(path), path);
    const batched: string[] = [];
    for (const [key, path] of keys) {
      // DeleteObjects takes an XML body, and XML 1.0 cannot carry most control characters.
      if (XML_UNSAFE.test(key)) await this.delete(path);
      else batched.push(key);
    }
    for (let i = 0; i < batched.length; i += MAX_PAGE) {
      await this.#deleteBatch(batched.slice(i, i + MAX_PAGE), keys);
    }
  }

  /** `ListObjectsV2` page by page (`Prefix`, `StartAfter`, continuation tokens), in UTF-8 byte order. */
  async *list(prefix: string, options: ListOptions = {}): AsyncGenerator<string> {
    const listing = openListing(prefix, options);
    if (listing) yield* listing.take(this.#pages(listing));
  }

  /** The names of a listing, one `ListObjectsV2` page at a time. */
  async *#pages(listing: Listing): AsyncGenerator<string> {
    const pageSize = listing.pageSize(MAX_PAGE, MAX_PAGE);
    const startAfter = listing.startAfter ? this.keyPrefix + listing.startAfter : undefined;
    let token: string | undefined;
    do {
      const page = await this.#listPage(listing.prefix, {
        MaxKeys: Math.min(pageSize, listing.remaining),
        ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
      });
      yield* page.names;
      token = page.next;
    } while (token);
  }

  /**
   * Runs the conditional-write probe now (it runs by itself before the first `create`
   * unless `verifyConditionalWrites` is `false`); once it passed, later calls return at once.
   * @throws {ConfigurationError} if the service ignores `If-None-Match: *`.
   * @throws {StorageError} if the probe could not run (a later call tries again).
   */
  verifyConditionalWrites(): Promise<void> {
    if (!this.#options.verifyConditionalWrites) return Promise.resolve();
    this.#probe ??= probeConditionalWrites(this).catch((error: unknown) => {
      if (isEvsrcError(error, ErrorCode.Storage)) this.#probe = undefined; // transient: try again next time
      throw error;
    });
    return this.#probe;
  }

  /** Destroys the client if the file system built it; a client you passed in stays open. */
  async close(): Promise<void> {
    if (this.#ownsClient) this.client.destroy();
  }

  async #listPage(
    prefix: string,
    page: { MaxKeys: number; ContinuationToken?: string; StartAfter?: string },
  ): Promise<{ names: string[]; next: string | undefined }> {
    let out: ListObjectsV2CommandOutput;
    try {
      out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.keyPrefix + prefix,
          EncodingType: 'url',
          ...page,
        }),
      );
    } catch (error) {
      throw new StorageError('list', prefix || '(root)', error);
    }
    const encoded = out.EncodingType === 'url';
    const names: string[] = [];
    for (const item of out.Contents ?? []) {
      const key = item.Key === undefined ? undefined : encoded ? decodeKey(item.Key) : item.Key;
      if (key === undefined)
        throw new StorageError('list', prefix || '(root)', new Error(`undecodable key ${item.Key}`));
      const name = key.slice(this.keyPrefix.length);
      if (isListable(name)) names.push(name);
    }
    return { names, next: out.IsTruncated ? out.NextContinuationToken : undefined };
  }

  async #deleteBatch(keys: string[], paths: ReadonlyMap<string, string>): Promise<void> {
    const first = paths.get(keys[0] as string) as string;
    let errors: { Key?: string; Code?: string; Message?: string }[];
    try {
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      errors = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
    } catch (error) {
      throw new StorageError('delete', keys.length > 1 ? `${first} (and ${keys.length - 1} more)` : first, error);
    }
    const failed = errors[0];
    if (failed) {
      const path = (failed.Key !== undefined && paths.get(failed.Key)) || failed.Key || first;
      const more = errors.length > 1 ? ` (${errors.length - 1} more files failed too)` : '';
      throw new StorageError('delete', path, new Error(`${failed.Code ?? 'error'}: ${failed.Message ?? ''}${more}`));
    }
  }

  /** The key of a file name; checks the name first. */
  #key(path: string): string {
    assertValidPath(path);
    if (path === PROBE_FOLDER || path.startsWith(`${PROBE_FOLDER}/`)) {
      throw new InvalidPathError(path, `"${PROBE_FOLDER}" is reserved for the conditional-write probe`);
    }
    const key = this.keyPrefix + path;
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
      throw new InvalidPathError(path, `with the key prefix, longer than S3's ${MAX_KEY_BYTES}-byte key limit`);
    }
    return key;
  }
}

/**
 * Decodes a key of a listing made with `EncodingType: 'url'`. AWS encodes a space as `+`
 * (and a `+` as `%2B`), others as `%20`: both decode right.
 */
function decodeKey(key: string): string | undefined {
  try {
    return decodeURIComponent(key.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/** Hides the probe's objects and keys that are no valid file name (e.g. `folder/` markers of S3 consoles). */
function isListable(name: string): boolean {
  if (name === PROBE_FOLDER || name.startsWith(`${PROBE_FOLDER}/`)) return false;
  try {
    assertValidPath(name);
    return true;
  } catch {
    return false;
  }
}
