import {
  ConfigurationError,
  ErrorCode,
  FileTooLargeError,
  isEvsrcError,
  StorageError,
  TimeoutError,
} from '../errors.js';
import type { CreateOptions, FileSystem, ListOptions, ReadOptions, ReplaceOptions } from './file-system.js';
import { MAX_READ_BYTES } from './read-limits.js';

/** Runs a file system call, turning any non-evsrc failure into a {@link StorageError} naming the path. */
async function storage<T>(operation: string, path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isEvsrcError(error)) throw error;
    throw new StorageError(operation, path, error);
  }
}

/**
 * Reads a file like `fs.read(path, options)` (failures as in {@link storage}), and checks
 * `options.maxBytes` again after the read, for file systems that do not know the option.
 * @throws {FileTooLargeError} when the file is over `options.maxBytes`.
 */
export async function readWithin(fs: FileSystem, path: string, options: ReadOptions): Promise<Uint8Array | undefined> {
  const bytes = await storage('read', path, () => fs.read(path, options));
  const max = options.maxBytes;
  if (bytes !== undefined && max !== undefined && bytes.byteLength > max) {
    throw new FileTooLargeError(path, bytes.byteLength, max);
  }
  return bytes;
}

/** Lists like `fs.list`, turning any non-evsrc failure into a {@link StorageError} naming the prefix. */
async function* storageList(fs: FileSystem, prefix: string, options?: ListOptions): AsyncGenerator<string> {
  try {
    yield* fs.list(prefix, options);
  } catch (error) {
    if (isEvsrcError(error)) throw error;
    throw new StorageError('list', prefix === '' ? '(root)' : prefix, error);
  }
}

/** The longest delay `setTimeout` honours (longer ones fire at once). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Checks the `operationTimeoutMs` option.
 * @returns the bound in ms, or `undefined` when operations are not bounded (`undefined`, `0` or `Infinity`).
 * @throws {ConfigurationError} for a negative, non-numeric or too large value.
 */
export function operationTimeout(value: number | undefined): number | undefined {
  if (value === undefined || value === 0 || value === Number.POSITIVE_INFINITY) return undefined;
  if (typeof value !== 'number' || !(value > 0) || value > MAX_TIMER_MS) {
    throw new ConfigurationError(
      `operationTimeoutMs must be a positive number of ms up to ${MAX_TIMER_MS} (or 0 / Infinity for none), not ${String(value)}`,
    );
  }
  return value;
}

/**
 * Checks a limit in bytes given in the options: a positive number (`Infinity`: none, that
 * is, the largest buffer this Node can allocate).
 * @throws {ConfigurationError} for anything else.
 */
export function byteLimit(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 1)) {
    throw new ConfigurationError(`${name} must be a number of bytes of at least 1 (or Infinity), not ${String(value)}`);
  }
  return Math.min(Math.floor(value), MAX_READ_BYTES);
}

/**
 * Runs `start()` and settles like it, unless it takes longer than `ms`: then rejects with a
 * {@link StorageError} whose `cause` is a {@link TimeoutError}. The call itself cannot be
 * cancelled: it goes on, and whatever it ends with later is ignored. Non-evsrc failures
 * become {@link StorageError}s naming the path.
 */
export function withTimeout<T>(operation: string, path: string, ms: number, start: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StorageError(operation, path, new TimeoutError(operation, path, ms))),
      ms,
    );
    const fail = (error: unknown) => {
      clearTimeout(timer);
      reject(isEvsrcError(error) ? error : new StorageError(operation, path, error));
    };
    let call: Promise<T>;
    try {
      call = start();
    } catch (error) {
      fail(error);
      return;
    }
    call.then((value) => {
      clearTimeout(timer);
      resolve(value);
    }, fail);
  });
}

/**
 * A {@link FileSystem} that guards every call of another one: a failure that is not an
 * evsrc error becomes a {@link StorageError} naming the operation and the path (as
 * {@link storage} and {@link storageList} do), and with `timeoutMs` every call is bounded
 * by it (see {@link withTimeout}); for `list`, each step of the iteration is bounded.
 * Call sites use it instead of wrapping each call: `guarded.create(path, data)` for
 * `storage('create', path, () => fs.create(path, data))`.
 */
export class GuardedFileSystem implements FileSystem {
  constructor(
    /** The file system whose calls are guarded. */
    readonly inner: FileSystem,
    /** The longest a call may take, in ms (`undefined`: unbounded). */
    readonly timeoutMs?: number,
  ) {}

  /** `fs` itself when it is guarded already, else `fs` guarded without a time-out. */
  static of(fs: FileSystem): GuardedFileSystem {
    return fs instanceof GuardedFileSystem ? fs : new GuardedFileSystem(fs);
  }

  /** The wrapped file system's read concurrency. */
  get readConcurrency(): number | undefined {
    return this.inner.readConcurrency;
  }

  #run<T>(operation: string, path: string, call: () => Promise<T>): Promise<T> {
    return this.timeoutMs === undefined
      ? storage(operation, path, call)
      : withTimeout(operation, path, this.timeoutMs, call);
  }

  read(path: string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    return this.#run('read', path, () => this.inner.read(path, options));
  }

  create(path: string, data: Uint8Array, options?: CreateOptions): Promise<void> {
    return this.#run('create', path, () => this.inner.create(path, data, options));
  }

  replace(path: string, data: Uint8Array, options?: ReplaceOptions): Promise<void> {
    return this.#run('replace', path, () => this.inner.replace(path, data, options));
  }

  delete(path: string): Promise<void> {
    return this.#run('delete', path, () => this.inner.delete(path));
  }

  list(prefix: string, options?: ListOptions): AsyncGenerator<string> {
    const timeoutMs = this.timeoutMs;
    return timeoutMs === undefined
      ? storageList(this.inner, prefix, options)
      : this.#boundedList(prefix, timeoutMs, options);
  }

  async *#boundedList(prefix: string, timeoutMs: number, options?: ListOptions): AsyncGenerator<string> {
    const where = prefix === '' ? '(root)' : prefix;
    const iterator = this.inner.list(prefix, options)[Symbol.asyncIterator]();
    let finished = false;
    let stuck = false;
    try {
      for (;;) {
        const next = await withTimeout('list', where, timeoutMs, () => iterator.next()).catch((error) => {
          stuck = isEvsrcError(error?.cause, ErrorCode.Timeout);
          finished = !stuck;
          throw error;
        });
        if (next.done) {
          finished = true;
          return;
        }
        yield next.value;
      }
    } finally {
      // Stopped early by the caller: close the listing. After a time-out the step in flight
      // still holds it; ask it to close without waiting for it.
      if (stuck) iterator.return?.()?.catch(() => undefined);
      else if (!finished) await withTimeout('list', where, timeoutMs, async () => iterator.return?.());
    }
  }

  /** The wrapped file system's notifications, when it has them (a no-op listener otherwise). */
  async watch(folder: string, listener: () => void): Promise<() => Promise<void>> {
    return this.inner.watch ? this.inner.watch(folder, listener) : async () => {};
  }

  /** Forwards to the wrapped file system's `notify`, guarded like every call. */
  async notify(folder: string): Promise<void> {
    const inner = this.inner;
    if (inner.notify) await this.#run('notify', folder, () => inner.notify?.(folder) as Promise<void>);
  }

  /** Closes the wrapped file system. */
  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
