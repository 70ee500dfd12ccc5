import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import { entryPath, FEED_FOLDER } from './layout.js';

interface Waiter {
  readonly position: number;
  readonly intervalMs: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Waits for new log entries on behalf of every watcher of one file system in this
 * process: one poll (one read of the next position) per interval, however many watchers
 * wait, woken early by the file system's {@link FileSystem.watch} where it has one.
 */
export class FeedPoller {
  readonly #fs: FileSystem;
  readonly #guarded: GuardedFileSystem;
  readonly #waiters = new Set<Waiter>();
  /** The highest position seen to exist. */
  #known = 0;
  /** The entry found by the last successful poll: its watchers read it from here, not again from the store. */
  #found: { readonly position: number; readonly bytes: Uint8Array } | undefined;
  #running = false;
  #wake: (() => void) | undefined;
  #woken = false;
  /** The open notifications: resolves to the function that closes them (none: the file system has no watch). */
  #watching: Promise<(() => Promise<void>) | undefined> | undefined;
  #unwatchTimer: NodeJS.Timeout | undefined;

  constructor(fs: FileSystem) {
    this.#fs = fs;
    this.#guarded = GuardedFileSystem.of(fs);
  }

  /** The poller of `fs` for this process (one per file system object). */
  static of(fs: FileSystem): FeedPoller {
    let poller = pollers.get(fs);
    if (!poller) {
      poller = new FeedPoller(fs);
      pollers.set(fs, poller);
    }
    return poller;
  }

  /** Number of watchers waiting (for tests and metrics). */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Resolves once the entry at `position` exists; rejects when `signal` aborts or a poll fails. */
  wait(position: number, intervalMs: number, signal?: AbortSignal): Promise<void> {
    if (position <= this.#known) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      signal?.throwIfAborted();
      const onAbort = () => {
        this.#waiters.delete(waiter);
        // The last waiter gone: end the sleep now, so the poller's timer does not keep the process alive.
        if (this.#waiters.size === 0) this.wake();
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        position,
        intervalMs,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
      this.wake();
      if (!this.#running) void this.#run();
    });
  }

  /**
   * The bytes of the entry at `position` if the last poll found it (entries never change,
   * so they stay valid); `undefined` otherwise. Callers must not modify them.
   */
  found(position: number): Uint8Array | undefined {
    return this.#found?.position === position ? this.#found.bytes : undefined;
  }

  /** Looks again now (called by file-system notifications and by this process's feed writers). */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    this.#running = true;
    let interval = 0;
    try {
      await this.#watch();
      while (this.#waiters.size > 0) {
        const lowest = this.#lowest();
        interval = lowest.interval;
        this.#woken = false;
        if (!(await this.#poll(lowest.next))) break;
        if (!this.#resolveReached() && this.#waiters.size > 0 && !this.#woken) await this.#sleep(interval);
      }
    } finally {
      this.#running = false;
      // A waiter added meanwhile needs a poller; else keep the watch a while, for the next wait.
      if (this.#waiters.size > 0) void this.#run();
      else this.#unwatchLater(Math.max(interval, LINGER_MS));
    }
  }

  /**
   * Opens the file system's notifications (once, kept across waits: a caught-up watcher
   * waits again after every batch, and opening a watch can cost a connection or a walk
   * of the feed's folders).
   */
  async #watch(): Promise<void> {
    clearTimeout(this.#unwatchTimer);
    this.#unwatchTimer = undefined;
    this.#watching ??= (this.#fs.watch?.(FEED_FOLDER, () => this.wake()) ?? Promise.resolve(undefined)).catch(
      () => undefined,
    );
    await this.#watching;
  }

  /** Closes the notifications after `ms` unless someone waits again before. */
  #unwatchLater(ms: number): void {
    clearTimeout(this.#unwatchTimer);
    this.#unwatchTimer = setTimeout(() => {
      const watching = this.#watching;
      this.#watching = undefined;
      this.#unwatchTimer = undefined;
      void watching?.then((unwatch) => unwatch?.()).catch(() => undefined);
    }, ms);
    this.#unwatchTimer.unref?.();
  }

  /** The lowest position waited for, and the shortest interval asked for. */
  #lowest(): { next: number; interval: number } {
    let next = Number.POSITIVE_INFINITY;
    let interval = Number.POSITIVE_INFINITY;
    for (const w of this.#waiters) {
      next = Math.min(next, w.position);
      interval = Math.min(interval, w.intervalMs);
    }
    return { next, interval };
  }

  /** Looks whether `next` exists; on failure rejects every waiter and returns false. */
  async #poll(next: number): Promise<boolean> {
    if (next <= this.#known) return true;
    const path = entryPath(next);
    try {
      const bytes = await this.#guarded.read(path);
      if (bytes !== undefined) {
        this.#known = next;
        this.#found = { position: next, bytes };
      }
      return true;
    } catch (error) {
      for (const w of this.#waiters) w.reject(error);
      this.#waiters.clear();
      return false;
    }
  }

  /** Resolves the waiters whose position exists; whether there were any. */
  #resolveReached(): boolean {
    let found = false;
    for (const w of this.#waiters) {
      if (w.position > this.#known) continue;
      this.#waiters.delete(w);
      w.resolve();
      found = true;
    }
    return found;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}

const pollers = new WeakMap<FileSystem, FeedPoller>();

/** How long notifications stay open after the last waiter left (at least one poll interval). */
const LINGER_MS = 5_000;
