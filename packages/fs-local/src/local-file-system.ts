// Over 300 lines: one adapter's whole mapping of the FileSystem port onto local disk; split by operation would scatter it.
import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { link, lstat, mkdir, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  type CreateOptions,
  FileExistsError,
  type FileSystem,
  InvalidPathError,
  isEvsrcError,
  type ListOptions,
  MissingPredecessorError,
  type ReadOptions,
  type ReplaceOptions,
  StorageError,
} from '@evsrc/core';
import { assertValidPath, assertValidPrefix, compareNames, FEED_FOLDER, openListing } from '@evsrc/core/adapter';
import { readWholeFile } from './read-file.js';
import { watchFolder } from './watch.js';

/** Options of {@link LocalFileSystem}. */
export interface LocalFileSystemOptions {
  /** The folder that holds the store; created on first write. */
  root: string;
  /**
   * Flush every written file and its folder to the disk before a write returns (default
   * `true`), so that an acknowledged save survives a power cut. `false` trades that for
   * speed: a crash of the process still never leaves a partial file, but the last writes
   * before a power cut or kernel crash may be lost.
   */
  durable?: boolean;
  /**
   * Leftover temporary files of crashed writers on other hosts (or of processes whose
   * liveness cannot be checked) are removed once they are this old (default one hour).
   */
  temporaryFileMaxAgeMs?: number;
}

/**
 * Chunk folders of the change feed a {@link LocalFileSystem.watch} keeps watched: the one
 * being written and the one before it (complete once the next exists).
 */
const WATCHED_CHUNKS = 2;

/** The folder under the root that holds files being written; never listed, and reserved. */
export const TEMPORARY_FOLDER = '.evsrc-tmp';

const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '_');

/**
 * Folders a process remembers as checked (real folders, no symbolic link on the way from
 * the root) for reads and listings; forgotten all at once past this many.
 */
const CHECKED_FOLDERS = 10_000;

/**
 * A {@link FileSystem} on a local disk folder.
 *
 * - `create` writes the bytes to a temporary file, flushes it, then gives it its final
 *   name with `link()`, which fails if the name exists: atomic across processes, and the
 *   final name never shows partial content.
 * - `replace` writes a temporary file, flushes it, then `rename()`s it over the old one.
 * - Temporary files live in `{root}/.evsrc-tmp/`, are never listed, and leftovers of
 *   crashed writers are removed on the first write of a later process (only when their
 *   process is gone, or when they are older than `temporaryFileMaxAgeMs`).
 * - Symbolic links inside the root are never followed, nor skipped: `list` yields a link
 *   as a name (whatever it points to, nothing below it), and `read`, `create`, `replace`,
 *   `delete` and `list` refuse a name that is a link or lies under one, with a
 *   {@link StorageError} naming the link (its `cause` has code `ELOOP`). The root itself
 *   may be a link. Writes check the whole way from the root each time; reads and listings
 *   check each folder the first time the process uses it.
 */
export class LocalFileSystem implements FileSystem {
  /** The absolute root folder. */
  readonly root: string;
  readonly durable: boolean;
  /**
   * Batch files read at once while loading: 16 keeps libuv's threads busy (measured: W3
   * replay 0.86 M ev/s at 4, 1.0 at 8, 1.1 at 16, 1.0 at 32 with the default 4 threads;
   * with `UV_THREADPOOL_SIZE=8`, 1.7 M ev/s at 16).
   */
  readonly readConcurrency = 16;
  /** One log for the feed: the writers share this disk, and one log lets a process group its saves into one entry. */
  readonly feedPartitions = 1;
  readonly #tmp: string;
  readonly #maxAge: number;
  #prepared: Promise<void> | undefined;
  /** The root with every symbolic link resolved (looked up once it exists). */
  #realRoot: Promise<string> | undefined;
  /** Folders (`a/b`) checked to be real folders under the root, for reads and listings. */
  readonly #checked = new Set<string>();

  constructor(options: LocalFileSystemOptions | string) {
    const o = typeof options === 'string' ? { root: options } : options;
    this.root = resolve(o.root);
    this.durable = o.durable ?? true;
    this.#maxAge = o.temporaryFileMaxAgeMs ?? 60 * 60 * 1000;
    this.#tmp = join(this.root, TEMPORARY_FOLDER);
  }

  /**
   * One `open` and one `read` for a file under 64 KiB; a larger one is `fstat`ed on the open
   * descriptor, refused when over `options.maxBytes`, and its first 64 KiB given to
   * `options.head`, before the rest is read.
   */
  async read(path: string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    const full = this.#resolve(path);
    const folder = folderOf(path);
    // Once the folder is known sound (as it is for every batch after a load's listing), no extra call.
    if (!this.#isChecked(folder) && (await this.#checkFolder('read', path, folder)) === 'missing') return undefined;
    try {
      return await readWholeFile(full, path, options);
    } catch (error) {
      if (isEvsrcError(error)) throw error; // a file too large, or what options.head threw
      if (isCode(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) return undefined;
      if (isCode(error, 'ELOOP')) throw linkError('read', path, path);
      throw new StorageError('read', path, error);
    }
  }

  async create(path: string, data: Uint8Array, options?: CreateOptions): Promise<void> {
    const full = this.#resolve(path);
    const requires = options?.requires;
    // The predecessor is looked up while the temporary file is written (no atomic way to
    // tie the two together on a POSIX file system; a hole that exists when the save runs is found).
    const [written, present] = await Promise.allSettled([
      this.#writeTemporary(path, data),
      requires === undefined ? true : this.#exists(requires),
    ]);
    if (written.status === 'rejected') throw written.reason;
    const tmp = written.value;
    if (present.status === 'rejected' || !present.value) {
      await unlink(tmp).catch(() => undefined);
      if (present.status === 'rejected') throw present.reason;
      throw new MissingPredecessorError(path, requires as string);
    }
    try {
      await this.#writableFolder('create', path);
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw asStorageError('create', path, error);
    }
    try {
      await link(tmp, full);
    } catch (error) {
      if (isCode(error, 'EEXIST')) {
        // link() never follows the new name: a link there (even a dangling one) takes the name.
        if (await isLink(full)) throw linkError('create', path, path);
        throw new FileExistsError(path);
      }
      if (isCode(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV')) {
        throw new StorageError(
          'create',
          path,
          new Error(`this file system does not support hard links (${codeOf(error)}), which atomic create needs`),
        );
      }
      throw new StorageError('create', path, error);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    await this.#syncFolder(path, dirname(full));
  }

  /** Whether a file exists (without following a final symbolic link). */
  async #exists(path: string): Promise<boolean> {
    try {
      await lstat(this.#resolve(path));
      return true;
    } catch (error) {
      if (isCode(error, 'ENOENT', 'ENOTDIR')) return false;
      throw new StorageError('create', path, error);
    }
  }

  /** Replaces atomically (temporary file, `rename`); `{ durable: false }` skips both flushes. */
  async replace(path: string, data: Uint8Array, options?: ReplaceOptions): Promise<void> {
    const full = this.#resolve(path);
    const durable = this.durable && options?.durable !== false;
    const tmp = await this.#writeTemporary(path, data, durable);
    try {
      await this.#writableFolder('replace', path);
      // rename() would replace a link itself, not follow it: refused all the same, as by every operation.
      if (await isLink(full)) throw linkError('replace', path, path);
      await rename(tmp, full);
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw asStorageError('replace', path, error);
    }
    if (durable) await this.#syncFolder(path, dirname(full));
  }

  async delete(path: string): Promise<void> {
    const full = this.#resolve(path);
    try {
      if ((await this.#checkFolder('delete', path, folderOf(path), { fresh: true })) === 'missing') return;
      if (await isLink(full)) throw linkError('delete', path, path);
      await unlink(full);
    } catch (error) {
      if (isCode(error, 'ENOENT', 'ENOTDIR')) return;
      throw asStorageError('delete', path, error);
    }
    await this.#syncFolder(path, dirname(full));
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncGenerator<string> {
    const listing = openListing(prefix, options);
    if (!listing) return;
    const slash = prefix.lastIndexOf('/');
    const folder = prefix.slice(0, Math.max(slash, 0));
    if (!this.#isChecked(folder) && (await this.#checkFolder('list', prefix, folder)) === 'missing') return;
    yield* listing.take(this.#walk(prefix.slice(0, slash + 1), prefix.slice(slash + 1), listing.startAfter));
  }

  /**
   * Calls `listener` soon after files under `folder` are created, replaced or deleted, by
   * this or any other process on this machine (inotify, FSEvents, ReadDirectoryChangesW;
   * network file systems may not report other hosts' writes). One non-recursive watch per
   * directory of the folder's tree; a folder that does not exist yet is not created, its
   * nearest existing parent is watched until it appears. The temporary files' folder is
   * never reported. A prefix that does not end in `/` is watched as its folder. Of the
   * change feed's chunk folders (1,000 log positions each), only the two newest are
   * watched: an older one is complete (positions are taken in order) and its
   * watch is released, so a long-running watcher holds a bounded number of watches. No
   * `notify` is needed. See the package README, "Change feed notifications".
   */
  async watch(folder: string, listener: () => void): Promise<() => Promise<void>> {
    assertValidPrefix(folder);
    const dir = folder.slice(0, folder.lastIndexOf('/') + 1);
    return watchFolder(dir === '' ? this.root : this.#absolute(dir.slice(0, -1)), listener, {
      exclude: this.#tmp,
      newest: { parent: this.#absolute(FEED_FOLDER.slice(0, -1)), keep: WATCHED_CHUNKS },
    });
  }

  /**
   * Removes leftover temporary files of crashed writers: those of processes on this host
   * that are gone, and any older than `temporaryFileMaxAgeMs`. Runs by itself before the
   * first write; call it to run it again. Returns how many files it removed.
   */
  async cleanupTemporaryFiles(): Promise<number> {
    let names: string[];
    try {
      if (await isLink(this.#tmp)) throw linkError('cleanup', TEMPORARY_FOLDER, TEMPORARY_FOLDER);
      names = await readdir(this.#tmp);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return 0;
      throw asStorageError('cleanup', TEMPORARY_FOLDER, error);
    }
    let removed = 0;
    for (const name of names) {
      const file = join(this.#tmp, name);
      const [host, pid] = name.split('.');
      let stale = host === HOST && pid !== undefined && !isAlive(Number(pid));
      if (!stale) {
        const info = await stat(file).catch(() => undefined);
        stale = info !== undefined && Date.now() - info.mtimeMs > this.#maxAge;
      }
      if (
        stale &&
        (await unlink(file).then(
          () => true,
          () => false,
        ))
      )
        removed++;
    }
    return removed;
  }

  async *#walk(folder: string, namePrefix: string, startAfter: string | undefined): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.root, folder), { withFileTypes: true });
    } catch (error) {
      if (isCode(error, 'ENOENT', 'ENOTDIR')) return;
      throw new StorageError('list', folder || '(root)', error);
    }
    // Sort folders as "name/" so that "a/..." comes after "a-b" and before "a0", as in UTF-8 byte order.
    // A symbolic link is a name like a file (never followed: nothing is listed below it), so
    // that it is seen, and refused, rather than silently left out.
    const items = entries
      .filter((e) => e.name.startsWith(namePrefix) && !(folder === '' && e.name === TEMPORARY_FOLDER))
      .filter((e) => e.isDirectory() || e.isFile() || e.isSymbolicLink())
      .map((e) => ({ key: folder + e.name + (e.isDirectory() ? '/' : ''), isFolder: e.isDirectory() }))
      .sort((a, b) => compareNames(a.key, b.key));
    for (const { key, isFolder } of items) {
      if (isFolder) {
        // Skip a whole folder when every name in it sorts before startAfter.
        if (startAfter !== undefined && compareNames(key, startAfter) < 0 && !startAfter.startsWith(key)) continue;
        yield* this.#walk(key, '', startAfter);
      } else if (startAfter === undefined || compareNames(key, startAfter) > 0) {
        yield key;
      }
    }
  }

  #absolute(path: string): string {
    return join(this.root, ...path.split('/'));
  }

  #resolve(path: string): string {
    assertValidPath(path);
    if (path === TEMPORARY_FOLDER || path.startsWith(`${TEMPORARY_FOLDER}/`)) {
      throw new InvalidPathError(path, `"${TEMPORARY_FOLDER}" is reserved for files being written`);
    }
    return join(this.root, ...path.split('/'));
  }

  /**
   * Checks that `folder` (`a/b`, `''` for the root) is a real folder under the root, with
   * no symbolic link on the way from it (the root itself may be one): `'missing'` when it,
   * or a folder on the way, does not exist (or is a file). Reads and listings remember
   * folders found sound; `fresh` (writes) looks every time. One `realpath` when the folder
   * exists, as it mostly does; one `lstat` per folder on the way otherwise.
   * @throws {StorageError} naming the first symbolic link on the way.
   */
  async #checkFolder(
    operation: string,
    path: string,
    folder: string,
    { fresh = false }: { fresh?: boolean } = {},
  ): Promise<'sound' | 'missing'> {
    if (folder === '' || (!fresh && this.#checked.has(folder))) return 'sound';
    const absolute = this.#absolute(folder);
    try {
      const real = await realpath(absolute);
      if (real === join(await this.#resolvedRoot(), ...folder.split('/'))) return this.#remember(folder);
    } catch (error) {
      if (!isCode(error, 'ENOENT', 'ENOTDIR', 'ELOOP')) throw new StorageError(operation, path, error);
    }
    // Missing, or resolved elsewhere: find the link on the way, if any (past the folders
    // already found sound, for reads and listings).
    let steps = folder.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    if (!fresh) steps = steps.slice(steps.findLastIndex((step) => this.#checked.has(step)) + 1);
    const kinds = await Promise.all(
      steps.map((step) =>
        lstat(this.#absolute(step)).then(
          (s) => (s.isSymbolicLink() ? 'link' : s.isDirectory() ? 'folder' : 'file'),
          (error: unknown) => (isCode(error, 'ENOENT', 'ENOTDIR') ? 'missing' : error),
        ),
      ),
    );
    // The first step that is not a real folder decides (a loop further down is the link's doing).
    for (const [i, kind] of kinds.entries()) {
      if (kind === 'folder') continue;
      if (kind === 'link') throw linkError(operation, path, steps[i] as string);
      if (kind === 'missing' || kind === 'file') return 'missing';
      throw new StorageError(operation, path, kind);
    }
    // Every folder on the way is real: the root itself moved since it was resolved.
    this.#realRoot = undefined;
    return this.#remember(folder);
  }

  /** Whether reads and listings may skip checking `folder` (done before, or the root). */
  #isChecked(folder: string): boolean {
    return folder === '' || this.#checked.has(folder);
  }

  #remember(folder: string): 'sound' {
    if (this.#checked.size >= CHECKED_FOLDERS) this.#checked.clear();
    this.#checked.add(folder);
    return 'sound';
  }

  /** The root with its symbolic links resolved (it exists: something under it was found). */
  #resolvedRoot(): Promise<string> {
    this.#realRoot ??= realpath(this.root).catch((error: unknown) => {
      this.#realRoot = undefined;
      throw error;
    });
    return this.#realRoot;
  }

  /** Before a write of `path`: its folder is checked (each time) and created when missing. */
  async #writableFolder(operation: string, path: string): Promise<void> {
    const folder = folderOf(path);
    if (folder === '') return; // the root exists: the temporary file was written under it
    if ((await this.#checkFolder(operation, path, folder, { fresh: true })) === 'missing') {
      await this.#makeFolder(path, this.#absolute(folder));
      this.#remember(folder);
    }
  }

  async #writeTemporary(path: string, data: Uint8Array, durable = this.durable): Promise<string> {
    this.#prepared ??= mkdir(this.#tmp, { recursive: true }).then(
      () => this.cleanupTemporaryFiles().then(() => undefined),
      async (error: unknown) => {
        // A link there that leads nowhere (or to a file): say so rather than EEXIST.
        if (await isLink(this.#tmp)) throw linkError('write', TEMPORARY_FOLDER, TEMPORARY_FOLDER);
        throw error;
      },
    );
    try {
      await this.#prepared;
    } catch (error) {
      this.#prepared = undefined;
      throw isEvsrcError(error) ? error : new StorageError('write', path, error);
    }
    const tmp = join(this.#tmp, `${HOST}.${process.pid}.${randomUUID()}.tmp`);
    try {
      const handle = await open(tmp, 'wx');
      try {
        await handle.writeFile(data);
        if (durable) await handle.sync();
      } finally {
        await handle.close();
      }
      return tmp;
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw new StorageError('write', path, error);
    }
  }

  /** Creates the folder; when durable, flushes each new folder's parent so the folder itself survives a crash. */
  async #makeFolder(path: string, folder: string): Promise<void> {
    const created = await mkdir(folder, { recursive: true });
    if (created === undefined || !this.durable) return;
    const chain: string[] = [];
    for (let d = folder; d.length >= created.length; d = dirname(d)) chain.push(dirname(d));
    for (const parent of chain.reverse()) await this.#syncFolder(path, parent);
  }

  async #syncFolder(path: string, folder: string): Promise<void> {
    if (!this.durable) return;
    try {
      const handle = await open(folder, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw new StorageError('sync', path, error);
    }
  }
}

/** `a/b` for `a/b/c`; `''` for a name at the root. */
function folderOf(path: string): string {
  return path.slice(0, Math.max(path.lastIndexOf('/'), 0));
}

/** Whether `path` is a symbolic link (false when missing). */
async function isLink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return false;
    throw error;
  }
}

/** The refusal of a symbolic link: `link` is the name (the file itself, or a folder on its way) that is one. */
function linkError(operation: string, path: string, link: string): StorageError {
  const which = link === path ? 'it' : JSON.stringify(link);
  const cause = Object.assign(
    new Error(
      `${which} is a symbolic link; evsrc does not follow symbolic links inside a store (only its root may be one): replace the link with what it points to`,
    ),
    { code: 'ELOOP', link },
  );
  return new StorageError(operation, path, cause);
}

function asStorageError(operation: string, path: string, error: unknown): Error {
  return isEvsrcError(error) ? (error as Error) : new StorageError(operation, path, error);
}

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

function isCode(error: unknown, ...codes: string[]): boolean {
  const code = codeOf(error);
  return code !== undefined && codes.includes(code);
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isCode(error, 'ESRCH');
  }
}
