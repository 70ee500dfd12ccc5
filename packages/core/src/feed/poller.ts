import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import { BELL, BELL_FOLDER, entryPath, FEED_FOLDER, type FeedLayout, logFolder } from './layout.js';

interface Waiter {
  /** The position awaited in each partition waited on. */
  readonly targets: ReadonlyMap<number, number>;
  readonly intervalMs: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Polls of the bell between two full sweeps of the logs, at least (a lost ring delays
 * other processes' watchers at most this long): 4 × K for K partitions, so that an idle
 * watcher makes at most 1.25 reads per interval on average, whatever K is.
 */
export const SWEEP_EVERY = 60;
const sweepEvery = (partitions: number) => Math.max(SWEEP_EVERY, 4 * partitions);

/**
 * Waits for new log entries on behalf of every watcher of one file system in this
 * process, however many watchers wait, woken early by the file system's
 * {@link FileSystem.watch} where it has one. Per poll interval: on a store from before
 * partitions, one read of its log's next position; on a partitioned feed, one read of the bell (`.evsrc/feed/bell/ring`), and the
 * next position of each partition waited on only when the bell changed, something woke
 * the poller, a new wait began, or every {@link SWEEP_EVERY} polls or 4 × K, whichever is more (a sweep).
 */
export class FeedPoller {
  readonly #fs: FileSystem;
  readonly #guarded: GuardedFileSystem;
  readonly #waiters = new Set<Waiter>();
  #layout: FeedLayout = { partitions: 1, legacy: true };
  /** The highest position seen to exist, per partition. */
  readonly #known = new Map<number, number>();
  /** The entries found by the last polls: their watchers read them from here, not again from the store. */
  readonly #found = new Map<number, { readonly position: number; readonly bytes: Uint8Array }>();
  /** The bell's value at the last poll. */
  #bell: string | undefined;
  /** Polls since the last sweep; a sweep is due when a wait begins. */
  #sinceSweep = Number.POSITIVE_INFINITY;
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

  /**
   * Resolves once, in some partition of `targets`, the entry at its position exists (for a
   * feed laid out as `layout`); rejects when `signal` aborts or a poll fails.
   */
  wait(
    layout: FeedLayout,
    targets: ReadonlyMap<number, number>,
    intervalMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.#layout.legacy !== layout.legacy || this.#layout.partitions !== layout.partitions) {
      this.#layout = layout;
      this.#known.clear();
      this.#found.clear();
    }
    if (this.#reached(targets)) return Promise.resolve();
    this.#sinceSweep = Number.POSITIVE_INFINITY;
    return new Promise<void>((resolve, reject) => {
      signal?.throwIfAborted();
      const onAbort = () => {
        this.#waiters.delete(waiter);
        // The last waiter gone: end the sleep now, so the poller's timer does not keep the process alive.
        if (this.#waiters.size === 0) this.wake();
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        targets,
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
   * The bytes of the entry at `position` of `partition` if the last poll found it (entries
   * never change, so they stay valid); `undefined` otherwise. Callers must not modify them.
   */
  found(partition: number, position: number): Uint8Array | undefined {
    const found = this.#found.get(partition);
    return found?.position === position ? found.bytes : undefined;
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
        const woken = this.#woken;
        this.#woken = false;
        if (!(await this.#poll(lowest.next, woken))) break;
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
    // The one log of a store from before partitions: its folder (its writers notify it).
    // Partitioned logs: the bell's folder, which holds one file (a bounded watch whatever K).
    const folder = this.#layout.legacy ? FEED_FOLDER : BELL_FOLDER;
    this.#watching ??= (this.#fs.watch?.(folder, () => this.wake()) ?? Promise.resolve(undefined)).catch(
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

  /** The lowest position waited for in each partition, and the shortest interval asked for. */
  #lowest(): { next: Map<number, number>; interval: number } {
    const next = new Map<number, number>();
    let interval = Number.POSITIVE_INFINITY;
    for (const w of this.#waiters) {
      for (const [partition, position] of w.targets) {
        next.set(partition, Math.min(next.get(partition) ?? Number.POSITIVE_INFINITY, position));
      }
      interval = Math.min(interval, w.intervalMs);
    }
    return { next, interval };
  }

  /** Looks whether the positions in `next` exist; on failure rejects every waiter and returns false. */
  async #poll(next: ReadonlyMap<number, number>, woken: boolean): Promise<boolean> {
    try {
      if (!this.#layout.legacy && !woken && this.#sinceSweep < sweepEvery(this.#layout.partitions)) {
        // Idle: the bell only, read before any log so that a ring after it is seen next time.
        const bytes = await this.#guarded.read(BELL);
        const bell = bytes === undefined ? undefined : Buffer.from(bytes).toString('latin1');
        const changed = bell !== this.#bell;
        this.#bell = bell;
        this.#sinceSweep++;
        if (!changed) return true;
      } else if (!this.#layout.legacy) {
        const bytes = await this.#guarded.read(BELL);
        this.#bell = bytes === undefined ? undefined : Buffer.from(bytes).toString('latin1');
      }
      this.#sinceSweep = 0;
      await Promise.all(
        [...next].map(async ([partition, position]) => {
          if (position <= (this.#known.get(partition) ?? 0)) return;
          const bytes = await this.#guarded.read(entryPath(position, logFolder(this.#layout, partition)));
          if (bytes === undefined) return;
          this.#known.set(partition, Math.max(this.#known.get(partition) ?? 0, position));
          this.#found.set(partition, { position, bytes });
        }),
      );
      return true;
    } catch (error) {
      for (const w of this.#waiters) w.reject(error);
      this.#waiters.clear();
      return false;
    }
  }

  /** Whether some partition of `targets` has its awaited position. */
  #reached(targets: ReadonlyMap<number, number>): boolean {
    for (const [partition, position] of targets) if (position <= (this.#known.get(partition) ?? 0)) return true;
    return false;
  }

  /** Resolves the waiters whose position exists; whether there were any. */
  #resolveReached(): boolean {
    let found = false;
    for (const w of this.#waiters) {
      if (!this.#reached(w.targets)) continue;
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
