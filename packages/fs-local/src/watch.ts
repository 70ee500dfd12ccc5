/**
 * File-system events behind {@link LocalFileSystem.watch}.
 *
 * A folder is watched as a tree of directories: one non-recursive `node:fs` `watch` per
 * directory (one inotify watch on Linux), added as subdirectories appear and dropped as
 * they go. Node's own `recursive: true` is not used: on Linux (Node 20 and 24 alike) it
 * is emulated in JavaScript with one watch and a synchronous `stat` per *file* and a
 * synchronous `readdir` of the whole directory on every event, which for a feed of many
 * thousand entries means thousands of inotify watches and a blocked event loop.
 *
 * A folder that does not exist yet is not created: its nearest existing ancestor is
 * watched (non-recursively, for the one name on the way down), and the watch moves down
 * as the folders are created. Watching never writes to the store.
 *
 * @module
 */
import { type FSWatcher, watch } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';

/** Options of {@link watchFolder}. */
export interface WatchFolderOptions {
  /** An absolute directory whose changes are never reported, nor looked into (the temporary files' folder). */
  readonly exclude?: string;
  /**
   * An absolute directory of which only the `keep` newest subdirectories (by name, in
   * code unit order) are watched, for a folder of ever more subdirectories whose older
   * ones are done — the feed's chunk folders. The directory itself stays watched, so a
   * new subdirectory is still heard at once; an older one is unwatched as it is passed.
   */
  readonly newest?: { readonly parent: string; readonly keep: number };
}

/**
 * Calls `listener` soon after anything changes in the directory `target` or any directory
 * below it (files created, replaced, removed; directories created). Resolves once the
 * watches are in place; the returned function stops them. The listener may be called more
 * than once per change, and once more whenever a new directory has been taken in (files
 * may have been created in it before its watch was set).
 */
export async function watchFolder(
  target: string,
  listener: () => void,
  options: WatchFolderOptions = {},
): Promise<() => Promise<void>> {
  const tree = new DirectoryTree(target, listener, options);
  await tree.attach();
  return async () => tree.close();
}

/** The watches of one {@link watchFolder} call: the target's directory tree, or an ancestor while it is missing. */
class DirectoryTree {
  readonly #target: string;
  readonly #listener: () => void;
  readonly #options: WatchFolderOptions;
  /** The watched directories of the tree under the target. */
  readonly #watchers = new Map<string, FSWatcher>();
  /** While the target does not exist: the watch on its nearest existing ancestor. */
  #ancestor: FSWatcher | undefined;
  #attaching: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(target: string, listener: () => void, options: WatchFolderOptions) {
    this.#target = target;
    this.#listener = listener;
    this.#options = options;
  }

  /**
   * Watches the target's tree, or, if the target is missing, its nearest existing
   * ancestor. One attempt runs at a time; a call during one makes it look once more.
   */
  attach(): Promise<void> {
    this.#again = true;
    this.#attaching ??= (async () => {
      try {
        while (this.#again && !this.#closed) {
          this.#again = false;
          await this.#attachOnce();
        }
      } finally {
        this.#attaching = undefined;
      }
    })();
    return this.#attaching;
  }

  async #attachOnce(): Promise<void> {
    if (this.#watchers.has(this.#target)) return;
    this.#ancestor?.close();
    this.#ancestor = undefined;
    if (await this.#add(this.#target)) return;
    for (let child = this.#target, dir = dirname(child); !this.#closed; child = dir, dir = dirname(dir)) {
      const next = basename(child);
      const self = basename(dir);
      const watcher = this.#open(dir, (name) => {
        // The next folder down appeared, or the ancestor itself went away (its own name): look again.
        if (name === null || name === next || name === self) void this.#descend();
      });
      if (watcher) {
        this.#ancestor = watcher;
        // The next folder down may have been created before this watch was in place.
        if (await isDirectory(child)) this.#again = true;
        return;
      }
      if (dir === dirname(dir)) return; // not even the file system's root: give up, the caller polls
    }
  }

  close(): void {
    this.#closed = true;
    this.#ancestor?.close();
    this.#ancestor = undefined;
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  /** A folder on the way to the target appeared: move the watch down (and tell the listener). */
  async #descend(): Promise<void> {
    if (this.#closed || this.#watchers.size > 0) return;
    await this.attach();
    if (this.#watchers.size > 0) this.#call();
  }

  /**
   * Watches `dir` and every directory below it; false when `dir` is not a directory (any
   * more), or is an older subdirectory of {@link WatchFolderOptions.newest}'s parent.
   */
  async #add(dir: string): Promise<boolean> {
    if (this.#closed || this.#watchers.has(dir) || dir === this.#options.exclude) return this.#watchers.has(dir);
    if (!this.#isNewest(dir)) return false;
    const watcher = this.#open(dir, (name) => this.#changed(dir, name));
    if (!watcher) return false;
    this.#watchers.set(dir, watcher);
    this.#dropOlder(dir);
    let entries: string[];
    try {
      entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      this.#remove(dir);
      return false;
    }
    if (dir === this.#options.newest?.parent) entries = entries.sort().slice(-this.#options.newest.keep);
    await Promise.all(entries.map((name) => this.#add(join(dir, name))));
    return true;
  }

  /** The watched subdirectories of the `newest` option's parent, oldest first. */
  #newestWatched(): string[] {
    const parent = this.#options.newest?.parent;
    if (parent === undefined) return [];
    return [...this.#watchers.keys()].filter((path) => dirname(path) === parent && path !== parent).sort();
  }

  /** Whether `dir` may be watched: anything but a subdirectory of `newest`'s parent older than those watched. */
  #isNewest(dir: string): boolean {
    const newest = this.#options.newest;
    if (newest === undefined || dirname(dir) !== newest.parent || dir === newest.parent) return true;
    const watched = this.#newestWatched();
    return watched.length < newest.keep || dir > (watched[0] as string);
  }

  /** After `dir` was taken in: unwatch the subdirectories of `newest`'s parent past the `keep` newest. */
  #dropOlder(dir: string): void {
    const newest = this.#options.newest;
    if (newest === undefined || dirname(dir) !== newest.parent) return;
    const watched = this.#newestWatched();
    for (const old of watched.slice(0, Math.max(0, watched.length - newest.keep))) this.#remove(old);
  }

  /** An event in the watched directory `dir`, about its entry `name` (or itself). */
  #changed(dir: string, name: string | null): void {
    if (this.#closed) return;
    const path = name === null ? dir : join(dir, name);
    if (path === this.#options.exclude) return;
    this.#call();
    void this.#update(dir, name);
  }

  /** Takes in a new subdirectory, drops a removed one; falls back to the ancestor when the target went away. */
  async #update(dir: string, name: string | null): Promise<void> {
    if (name !== null) {
      // The usual event, a file written in `dir`: one lstat of it tells all (it exists, so `dir` does).
      const child = join(dir, name);
      const kind = await kindOf(child);
      if (this.#watchers.has(child)) {
        if (kind !== 'directory') this.#remove(child);
      } else if (kind === 'directory' && (await this.#add(child))) {
        this.#call();
      }
      if (kind !== 'missing') return;
    }
    if ((await kindOf(dir)) !== 'directory') {
      this.#remove(dir);
      if (dir === this.#target && !this.#closed) await this.attach();
      return;
    }
    // No name given (possible on some platforms): look at the whole directory.
    if (name === null && (await this.#addChildren(dir))) this.#call();
  }

  /** Watches the subdirectories of `dir` not watched yet; whether there were any. */
  async #addChildren(dir: string): Promise<boolean> {
    const names = await readdir(dir, { withFileTypes: true }).catch(() => []);
    let fresh = names.filter((e) => e.isDirectory() && !this.#watchers.has(join(dir, e.name)));
    if (dir === this.#options.newest?.parent) {
      fresh = fresh.sort((a, b) => (a.name < b.name ? -1 : 1)).slice(-this.#options.newest.keep);
    }
    const added = await Promise.all(fresh.map((e) => this.#add(join(dir, e.name))));
    return added.some(Boolean);
  }

  /** Stops watching `dir` and everything below it. */
  #remove(dir: string): void {
    for (const [path, watcher] of this.#watchers) {
      if (path === dir || path.startsWith(dir + sep)) {
        watcher.close();
        this.#watchers.delete(path);
      }
    }
  }

  /** A non-recursive watch on `dir`, or `undefined` when it cannot be set (missing, not a directory, limits). */
  #open(dir: string, onEvent: (name: string | null) => void): FSWatcher | undefined {
    if (this.#closed) return undefined;
    let watcher: FSWatcher;
    try {
      // Unreferenced: a watch alone never keeps the process alive (the feed's poller has its own timer).
      watcher = watch(dir, { persistent: false }, (_event, name) => onEvent(name === null ? null : String(name)));
    } catch {
      // Missing, not a directory, or over the inotify limit: that part of the tree goes
      // unwatched, and the feed finds its changes by polling.
      return undefined;
    }
    watcher.on('error', () => {
      // e.g. the directory was removed (Windows): drop it and look again.
      watcher.close();
      if (watcher === this.#ancestor) {
        this.#ancestor = undefined;
        void this.attach();
      } else if (dir === this.#target) {
        // The target itself: its parent is not in the tree, so start again from the top.
        this.#remove(dir);
        void this.attach();
      } else {
        this.#remove(dir);
        void this.#update(dirname(dir), basename(dir));
      }
    });
    return watcher;
  }

  #call(): void {
    if (this.#closed) return;
    try {
      this.#listener();
    } catch {
      // A listener's failure is its own.
    }
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await kindOf(path)) === 'directory';
}

async function kindOf(path: string): Promise<'directory' | 'other' | 'missing'> {
  return lstat(path).then(
    (s) => (s.isDirectory() ? 'directory' : 'other'),
    () => 'missing',
  );
}
