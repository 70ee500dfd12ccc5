import type { BlobItem, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import {
  type CreateOptions,
  FileExistsError,
  type FileSystem,
  InvalidPathError,
  isEvsrcError,
  type ListOptions,
  MissingPredecessorError,
  type ReadOptions,
  StorageError,
} from '@evsrc/core';
import { assertValidPath, compareNames, openListing, readStreamBody } from '@evsrc/core/adapter';
import { CodePointOrder } from './code-point-order.js';
import { isAlreadyExists, isContainerNotFound, isNotFound } from './errors.js';
import { type ListingPlan, MAX_PAGE_SIZE, pageSizeFor, planListing } from './listing.js';
import { type AzureFileSystemOptions, type ResolvedOptions, resolveOptions } from './options.js';

/** The options that bound one call: an abort signal, when `operationTimeoutMs` is set. */
type Deadline = { abortSignal?: AbortSignal };

/** One page of a listing: blob names, and where the next page starts. */
interface Page {
  readonly names: readonly string[];
  readonly next: string | undefined;
}

/**
 * A {@link FileSystem} on an Azure Blob Storage container (block blobs).
 *
 * - A file is the block blob named `{prefix}{path}`.
 * - `create` uploads with `If-None-Match: *`: the service refuses it atomically when the
 *   name is taken (409 `BlobAlreadyExists`, or 412 `ConditionNotMet`), which becomes a
 *   {@link FileExistsError}. There is no check-then-put.
 * - `replace` is one Put Blob (or, above `maxSingleShotSize`, staged blocks and one Put
 *   Block List): atomic either way.
 * - `read` is one Get Blob; `delete` one Delete Blob (with its snapshots).
 * - `list` pages through List Blobs with continuation tokens, in code point order; see
 *   `planListing` (listing.ts) for how `startAfter` is honoured.
 * - Transient failures are retried by the SDK's retry policy; `operationTimeoutMs` bounds
 *   each call, retries included.
 */
export class AzureFileSystem implements FileSystem {
  /** The container that holds the files. */
  readonly container: ContainerClient;
  /** The folder inside the container that holds the store (`""`, or ends with `/`). */
  readonly prefix: string;
  readonly readConcurrency: number;
  readonly #options: ResolvedOptions;
  #containerReady: Promise<unknown> | undefined;

  constructor(options: AzureFileSystemOptions) {
    this.#options = resolveOptions(options);
    this.container = this.#options.container;
    this.prefix = this.#options.prefix;
    this.readConcurrency = this.#options.readConcurrency;
  }

  /**
   * One download. Its `contentLength` is checked against `options.maxBytes` before the body
   * is read (a refused body is destroyed, which drops its connection); a body over 64 KiB
   * has its first bytes given to `options.head` before the rest is read.
   */
  async read(path: string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    const blob = this.#blob(path);
    const deadline = this.#deadline();
    try {
      const response = await blob.download(0, undefined, deadline);
      const body = response.readableStreamBody as AsyncIterable<Uint8Array> | undefined;
      if (body === undefined) return new Uint8Array(0);
      return await readStreamBody(path, body, response.contentLength, options);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if (isEvsrcError(error)) throw error; // a file too large, or what options.head threw
      throw this.#failure('read', path, error, deadline);
    }
  }

  /**
   * Uploads with `If-None-Match: *`; with `requires`, asks for that blob's properties first
   * (Blob Storage has no condition on another blob).
   */
  async create(path: string, data: Uint8Array, options?: CreateOptions): Promise<void> {
    const blob = this.#blob(path);
    const requires = options?.requires === undefined ? undefined : this.#blob(options.requires);
    const deadline = this.#deadline();
    let present = true;
    try {
      if (requires) present = await requires.exists(deadline);
    } catch (error) {
      throw this.#failure('create', path, error, deadline);
    }
    if (!present) throw new MissingPredecessorError(path, options?.requires as string);
    try {
      await this.#upload(blob, data, true, deadline);
    } catch (error) {
      if (isAlreadyExists(error)) throw new FileExistsError(path);
      throw this.#failure('create', path, error, deadline);
    }
  }

  async replace(path: string, data: Uint8Array): Promise<void> {
    const blob = this.#blob(path);
    const deadline = this.#deadline();
    try {
      await this.#upload(blob, data, false, deadline);
    } catch (error) {
      throw this.#failure('replace', path, error, deadline);
    }
  }

  async delete(path: string): Promise<void> {
    const blob = this.#blob(path);
    const deadline = this.#deadline();
    try {
      await blob.delete({ deleteSnapshots: 'include', ...deadline });
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.#failure('delete', path, error, deadline);
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncGenerator<string> {
    const listing = openListing(prefix, options);
    if (!listing) return;
    const plan = planListing(prefix, listing.startAfter);
    if (plan.empty) return;
    yield* listing.take(this.#names(prefix, plan, options.pageSize, () => listing.remaining));
  }

  /** Nothing to release: the SDK's clients hold no connections of their own beyond Node's agent. */
  async close(): Promise<void> {}

  /** The names under `prefix` that the plan admits, in code point order, page by page. */
  async *#names(
    prefix: string,
    plan: ListingPlan,
    pageSize: number | undefined,
    wanted: () => number,
  ): AsyncGenerator<string> {
    const order = new CodePointOrder();
    // While every name seen so far sorts up to `after` (a service that ignores startFrom),
    // fetch the largest pages: those names are skipped, the caller's page size is moot.
    let skipping = plan.after !== undefined;
    let token: string | undefined;
    let first = true;
    do {
      const size = skipping && !first ? MAX_PAGE_SIZE : pageSizeFor(pageSize, wanted());
      const page = await this.#page(prefix, plan, token, size);
      first = false;
      token = page.next;
      for (const blobName of page.names) {
        const name = blobName.slice(this.prefix.length);
        if (plan.after !== undefined && compareNames(name, plan.after) <= 0) continue;
        skipping = false;
        yield* order.push(name);
      }
    } while (token);
    yield* order.flush();
  }

  /** One List Blobs request. A missing container lists as empty. */
  async #page(prefix: string, plan: ListingPlan, token: string | undefined, size: number): Promise<Page> {
    const startFrom =
      this.#options.listStartFrom && plan.startFrom !== undefined ? this.prefix + plan.startFrom : undefined;
    const deadline = this.#deadline();
    try {
      const pages = this.container
        .listBlobsFlat({ prefix: this.prefix + prefix, ...(startFrom !== undefined ? { startFrom } : {}), ...deadline })
        .byPage({ maxPageSize: size, ...(token !== undefined ? { continuationToken: token } : {}) });
      const { value } = await pages.next();
      if (!value) return { names: [], next: undefined };
      const items: BlobItem[] = value.segment.blobItems;
      return { names: items.map((item) => item.name), next: value.continuationToken || undefined };
    } catch (error) {
      if (isContainerNotFound(error)) return { names: [], next: undefined };
      throw this.#failure('list', prefix || '(root)', error, deadline);
    }
  }

  /**
   * Uploads the whole file as one blob version: one Put Blob, or staged blocks and one
   * Put Block List above `maxSingleShotSize`. `exclusive` adds `If-None-Match: *`.
   * Creates the container and tries once more when it is missing (if allowed).
   */
  async #upload(blob: BlockBlobClient, data: Uint8Array, exclusive: boolean, deadline: Deadline): Promise<void> {
    const send = () =>
      blob.uploadData(data, {
        maxSingleShotSize: this.#options.maxSingleShotSize,
        concurrency: this.#options.uploadConcurrency,
        ...(exclusive ? { conditions: { ifNoneMatch: '*' } } : {}),
        ...deadline,
      });
    try {
      await send();
    } catch (error) {
      if (!this.#options.createContainer || !isContainerNotFound(error)) throw error;
      await this.#ensureContainer(deadline);
      await send();
    }
  }

  /** Creates the container if it does not exist; once per instance unless it fails. */
  async #ensureContainer(deadline: Deadline): Promise<void> {
    this.#containerReady ??= this.container.createIfNotExists(deadline);
    try {
      await this.#containerReady;
    } catch (error) {
      this.#containerReady = undefined;
      throw error;
    }
  }

  /** The abort signal of one call when `operationTimeoutMs` is set. */
  #deadline(): Deadline {
    const ms = this.#options.operationTimeoutMs;
    return ms === undefined ? {} : { abortSignal: AbortSignal.timeout(ms) };
  }

  /** A failed call as a {@link StorageError}; one cut short by `operationTimeoutMs` says so. */
  #failure(operation: string, path: string, error: unknown, deadline: Deadline): StorageError {
    if (deadline.abortSignal?.aborted) {
      const timedOut = new Error(`no answer within ${this.#options.operationTimeoutMs} ms (operationTimeoutMs)`, {
        cause: error,
      });
      return new StorageError(operation, path, timedOut);
    }
    return new StorageError(operation, path, error);
  }

  #blob(path: string): BlockBlobClient {
    assertValidPath(path);
    // The service drops a trailing dot from a blob name: "a." would silently become "a".
    if (path.endsWith('.')) throw new InvalidPathError(path, 'Azure Blob Storage cannot store a name ending with "."');
    return this.container.getBlockBlobClient(this.prefix + path);
  }
}
