import { FileExistsError, MissingPredecessorError } from '../errors.js';
import {
  type CreateOptions,
  type FileSystem,
  type ListOptions,
  READ_HEAD_BYTES,
  type ReadOptions,
} from './file-system.js';
import { type Listing, openListing } from './list-options.js';
import { assertValidPath, assertValidPrefix, compareNames } from './paths.js';
import { checkReadSize, STREAM_HEAD_ABOVE } from './read-limits.js';

/** Options of {@link InMemoryFileSystem}. */
export interface InMemoryFileSystemOptions {
  /**
   * Yield to the event loop before every operation completes (default `true`), so that
   * concurrent callers really interleave as they would on a real store.
   */
  async?: boolean;
}

/**
 * A {@link FileSystem} held in memory, for tests and demos. It honours the whole contract,
 * including concurrent `create` conflicts; copies bytes in and out so callers cannot
 * change stored files by mutating their buffers.
 */
export class InMemoryFileSystem implements FileSystem {
  readonly #files = new Map<string, Uint8Array>();
  /** All names, kept sorted by {@link compareNames} for ordered listing. */
  readonly #names: string[] = [];
  readonly #async: boolean;
  readonly #watchers = new Set<{ folder: string; listener: () => void }>();
  /** One log for the feed: one process writes it, and one log lets its saves group into one entry. */
  readonly feedPartitions = 1;

  constructor(options: InMemoryFileSystemOptions = {}) {
    this.#async = options.async ?? true;
  }

  /** Number of files stored. */
  get size(): number {
    return this.#files.size;
  }

  /** Honours `maxBytes`, and calls `head` for files over 64 KiB, as a network store would. */
  async read(path: string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    assertValidPath(path);
    await this.#tick();
    const data = this.#files.get(path);
    if (data === undefined) return undefined;
    if (options !== undefined) {
      checkReadSize(path, data.byteLength, options);
      if (options.head && data.byteLength > STREAM_HEAD_ABOVE) {
        options.head(data.slice(0, READ_HEAD_BYTES), data.byteLength);
      }
    }
    // `new Uint8Array(typed array)` copies about half as many instructions as `slice()` / `from()`.
    return new Uint8Array(data);
  }

  async create(path: string, data: Uint8Array, options?: CreateOptions): Promise<void> {
    assertValidPath(path);
    const requires = options?.requires;
    if (requires !== undefined) assertValidPath(requires);
    const copy = new Uint8Array(data);
    await this.#tick();
    // Both checks and the write happen in one synchronous step: atomic like a Redis script.
    if (this.#files.has(path)) throw new FileExistsError(path);
    if (requires !== undefined && !this.#files.has(requires)) throw new MissingPredecessorError(path, requires);
    this.#insertName(path);
    this.#files.set(path, copy);
    this.#changed(path);
  }

  async replace(path: string, data: Uint8Array): Promise<void> {
    assertValidPath(path);
    const copy = new Uint8Array(data);
    await this.#tick();
    if (!this.#files.has(path)) this.#insertName(path);
    this.#files.set(path, copy);
    this.#changed(path);
  }

  async delete(path: string): Promise<void> {
    assertValidPath(path);
    await this.#tick();
    if (!this.#files.delete(path)) return;
    const i = this.#lowerBound(path);
    this.#names.splice(i, 1);
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncGenerator<string> {
    const listing = openListing(prefix, options);
    if (listing) yield* listing.take(this.#pages(listing));
  }

  /** The names of a listing, one page at a time. */
  async *#pages(listing: Listing): AsyncGenerator<string> {
    const { prefix } = listing;
    const pageSize = listing.pageSize(1000);
    let after = listing.startAfter;
    while (listing.remaining > 0) {
      await this.#tick();
      // Take one page, then search again: files may change while the caller iterates.
      let i = this.#lowerBound(after !== undefined && compareNames(after, prefix) > 0 ? after : prefix);
      if (after !== undefined && this.#names[i] === after) i++;
      const page: string[] = [];
      while (page.length < Math.min(pageSize, listing.remaining)) {
        const name = this.#names[i++];
        if (name === undefined || !name.startsWith(prefix)) break;
        page.push(name);
      }
      if (page.length === 0) return;
      yield* page;
      after = page[page.length - 1];
    }
  }

  /** Calls `listener` after every create or replace under `folder` (in this object). */
  async watch(folder: string, listener: () => void): Promise<() => Promise<void>> {
    assertValidPrefix(folder);
    const watcher = { folder, listener };
    this.#watchers.add(watcher);
    return async () => {
      this.#watchers.delete(watcher);
    };
  }

  #changed(path: string): void {
    for (const w of this.#watchers) {
      if (!path.startsWith(w.folder)) continue;
      try {
        w.listener();
      } catch {
        // a listener's failure is its own; the write succeeded
      }
    }
  }

  /** Index of the first name not less than `name`. */
  #lowerBound(name: string): number {
    let lo = 0;
    let hi = this.#names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareNames(this.#names[mid] as string, name) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #insertName(name: string): void {
    this.#names.splice(this.#lowerBound(name), 0, name);
  }

  #tick(): Promise<void> | undefined {
    return this.#async ? new Promise((resolve) => setImmediate(resolve)) : undefined;
  }
}
