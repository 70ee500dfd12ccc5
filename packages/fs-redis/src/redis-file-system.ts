// Over 300 lines: one adapter's whole mapping of the FileSystem port onto Redis; split by operation would scatter it.
import {
  ConfigurationError,
  type CreateOptions,
  FileExistsError,
  type FileSystem,
  isEvsrcError,
  type ListOptions,
  MissingPredecessorError,
  type ReadOptions,
  StorageError,
} from '@evsrc/core';
import { assertValidPrefix, checkReadSize, HEAD_CHECK_ABOVE, openListing } from '@evsrc/core/adapter';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { assertValidKeyPrefix, type FileKeys, folderOf, type IndexEntry, KeyLayout } from './keys.js';
import { walk } from './listing.js';
import { closeClient, notificationChannel, RedisNotifications } from './notifications.js';
import { firstTime, type PersistenceReport, readPersistence } from './persistence.js';
import { defineScripts, type ScriptCommands } from './scripts.js';

/** Options of {@link RedisFileSystem}: give either `client` or `url`. */
export interface RedisFileSystemOptions {
  /**
   * An ioredis client (`Redis`) or cluster client (`Cluster`) you built and own: the file
   * system never quits it. The scripts are added to it with `defineCommand`
   * (`evsrcFsCreateV1`, `evsrcFsReplaceV1`, `evsrcFsDeleteV1`).
   */
  client?: Redis | Cluster;
  /** A `redis://` or `rediss://` URL: the file system builds its own client and quits it on `close()`. */
  url?: string;
  /** ioredis options for the client built from `url` (ignored with `client`). */
  redisOptions?: RedisOptions;
  /**
   * Put before every key (default `'evsrc:'`), so several stores share one Redis. Must not
   * contain `{` or `}`.
   */
  prefix?: string;
  /**
   * Whether the server spreads keys over hash slots (Redis Cluster, or a proxy in front of
   * several shards), so that a script may only touch keys of one slot. Default: `true` for
   * an ioredis `Cluster`, `false` otherwise. When `true`, the folder entries that live in
   * other slots (the root's and first-level folders') are added before the file's script
   * runs; when `false`, one script writes everything.
   */
  sharded?: boolean;
  /** How many reads the repository keeps in flight when it loads an aggregate (default 16). */
  readConcurrency?: number;
  /** Members fetched per `ZRANGEBYLEX` when listing, unless the caller asks for another page size (default 1000). */
  pageSize?: number;
  /**
   * Asks the server at start-up (`CONFIG GET appendonly`, `appendfsync`, `save`, `maxmemory`,
   * `maxmemory-policy`) whether every acknowledged write reaches its disk before it answers
   * and whether it may evict keys, and warns if not (default `true`). Each warning is given
   * once per server per process, however many stores are opened on it. A server that
   * refuses `CONFIG` is not an error.
   */
  checkPersistence?: boolean;
  /**
   * Write even though the server evicts keys when its memory is full (`maxmemory` set with an
   * `allkeys-*` policy), which silently drops the store's files. Default `false`: once
   * {@link checkPersistence} has found such a server, `create`, `replace` and `delete` fail
   * with `ConfigurationError` (reads still work, to copy the data elsewhere).
   */
  allowEviction?: boolean;
  /** Receives warnings (default `console.warn`). */
  onWarning?: (message: string) => void;
}

/** The largest page size a listing asks Redis for. */
export const MAX_PAGE_SIZE = 10_000;

/**
 * A {@link FileSystem} on Redis (standalone, with replicas, or a Redis Cluster) through ioredis.
 *
 * - A file is a Redis string holding its bytes; each folder has a sorted set (score 0) of its
 *   files (`name`) and subfolders (`name/`), which `list` walks with `ZRANGEBYLEX`.
 * - `create`, `replace` and `delete` are Lua scripts that change the file and its folder
 *   index together, atomically; `create` fails with {@link FileExistsError} if the key exists.
 * - All keys of one aggregate (`type/id/…`) share a hash tag, so each script touches one slot.
 *
 * See the package README for the key layout, cluster behaviour and persistence settings.
 */
export class RedisFileSystem implements FileSystem {
  /** The ioredis client (yours, or the one built from `url`). */
  readonly client: Redis | Cluster;
  /** The key prefix. */
  readonly prefix: string;
  /** Whether scripts are kept to one hash slot (see {@link RedisFileSystemOptions.sharded}). */
  readonly sharded: boolean;
  /** How many reads the repository keeps in flight when it loads an aggregate. */
  readonly readConcurrency: number;
  readonly #redis: Redis;
  readonly #scripts: ScriptCommands;
  readonly #keys: KeyLayout;
  readonly #owned: boolean;
  readonly #pageSize: number;
  readonly #onWarning: (message: string) => void;
  readonly #notifications: RedisNotifications;
  readonly #allowEviction: boolean;
  #persistence: Promise<PersistenceReport | undefined> | undefined;

  constructor(options: RedisFileSystemOptions) {
    if ((options.client === undefined) === (options.url === undefined)) {
      throw new ConfigurationError('@evsrc/fs-redis: give either `client` or `url`');
    }
    this.prefix = options.prefix ?? 'evsrc:';
    this.#keys = new KeyLayout(this.prefix);
    this.readConcurrency = positiveInteger(options.readConcurrency ?? 16, 'readConcurrency');
    this.#pageSize = Math.min(positiveInteger(options.pageSize ?? 1000, 'pageSize'), MAX_PAGE_SIZE);
    this.#onWarning = options.onWarning ?? ((message) => console.warn(message));
    this.#allowEviction = options.allowEviction ?? false;
    const clientPrefix = options.client ? options.client.options.keyPrefix : options.redisOptions?.keyPrefix;
    if (clientPrefix) assertValidKeyPrefix(clientPrefix, 'prefix of the ioredis client (keyPrefix)');
    if (options.client) {
      this.client = options.client;
      this.#owned = false;
    } else {
      this.client = new Redis(options.url as string, options.redisOptions ?? {});
      // Failures reach the caller of each operation; do not let ioredis print every reconnect attempt.
      this.client.on('error', () => undefined);
      this.#owned = true;
    }
    this.sharded = options.sharded ?? this.client.isCluster;
    // Both clients share the command API; one type keeps the calls simple.
    this.#redis = this.client as Redis;
    this.#scripts = defineScripts(this.client);
    this.#notifications = new RedisNotifications(this.client, this.#onWarning);
    if (options.checkPersistence ?? true) void this.checkPersistence();
  }

  /**
   * Reads a file, as a copy of its bytes; `undefined` if absent. Without options, one
   * `GET`. With them, one `GETRANGE` of the first 1 MiB, which is the whole file for every
   * ordinary one (checked against `options.maxBytes` by its length); only a file of 1 MiB
   * or more costs a `STRLEN` (a file over `maxBytes` is refused from it, unread past its
   * first MiB), then `options.head` with those first bytes, then a `GET` of the whole file;
   * and an empty reply a `GET`, which tells an empty file from a missing one.
   */
  async read(path: string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    const key = this.#keys.file(path);
    try {
      if (options?.maxBytes === undefined && options?.head === undefined) {
        return copyOf(await this.#redis.getBuffer(key));
      }
      const first = await this.#redis.getrangeBuffer(key, 0, HEAD_CHECK_ABOVE - 1);
      if (first.byteLength > 0 && first.byteLength < HEAD_CHECK_ABOVE) {
        checkReadSize(path, first.byteLength, options);
        return Buffer.from(first);
      }
      if (first.byteLength === HEAD_CHECK_ABOVE) {
        const size = await this.#redis.strlen(key);
        checkReadSize(path, size, options);
        if (size > HEAD_CHECK_ABOVE) options.head?.(first, size);
      }
      // The whole file in one atomic GET (it may have been replaced since: its size is checked again).
      const whole = copyOf(await this.#redis.getBuffer(key));
      if (whole !== undefined) checkReadSize(path, whole.byteLength, options);
      return whole;
    } catch (error) {
      if (isEvsrcError(error)) throw error; // a file too large, or what options.head threw
      throw new StorageError('read', path, error);
    }
  }

  /**
   * Creates a file if its key is absent, with its index entries, in one script; with
   * `requires`, the same script checks that the file it follows exists (when both keys
   * share a hash slot, as an aggregate's batches and the feed's entries always do; else an
   * `EXISTS` just before).
   * @throws {FileExistsError}
   * @throws {MissingPredecessorError}
   */
  async create(path: string, data: Uint8Array, options?: CreateOptions): Promise<void> {
    const keys = this.#keys.keysOf(path);
    const bytes = Buffer.from(data);
    const requires = options?.requires === undefined ? undefined : this.#keys.file(options.requires);
    await this.#refuseIfEvicting('create', path);
    let created: number;
    try {
      if (requires === undefined) {
        created = await this.#write(this.#scripts.evsrcFsCreateV1.bind(this.#scripts), keys, bytes);
      } else if (this.sharded && hashTagOfKey(requires) !== hashTagOfKey(keys.file)) {
        created =
          (await this.#redis.exists(requires)) === 0
            ? -1
            : await this.#write(this.#scripts.evsrcFsCreateV1.bind(this.#scripts), keys, bytes);
      } else {
        created = await this.#write(this.#scripts.evsrcFsCreateAfterV1.bind(this.#scripts), keys, bytes, requires);
      }
    } catch (error) {
      throw new StorageError('create', path, error);
    }
    if (created === -1) throw new MissingPredecessorError(path, options?.requires as string);
    if (created !== 1) throw new FileExistsError(path);
  }

  /** Creates or overwrites a file, with its index entries, in one script. */
  async replace(path: string, data: Uint8Array): Promise<void> {
    const keys = this.#keys.keysOf(path);
    const bytes = Buffer.from(data);
    await this.#refuseIfEvicting('replace', path);
    try {
      await this.#write(this.#scripts.evsrcFsReplaceV1.bind(this.#scripts), keys, bytes);
    } catch (error) {
      throw new StorageError('replace', path, error);
    }
  }

  /** Deletes a file and its index entry (and folders left empty in its slot); a missing file is fine. */
  async delete(path: string): Promise<void> {
    const { file, sameSlot } = this.#keys.keysOf(path);
    await this.#refuseIfEvicting('delete', path);
    // Only entries of the file's own slot are removed: an empty folder entry elsewhere is
    // harmless, while removing it could race with a create in another slot.
    try {
      await this.#scripts.evsrcFsDeleteV1(...scriptArgs(file, Buffer.alloc(0), sameSlot));
    } catch (error) {
      throw new StorageError('delete', path, error);
    }
  }

  /** Lists names starting with `prefix` in code point order, walking the folder indexes page by page. */
  async *list(prefix: string, options: ListOptions = {}): AsyncGenerator<string> {
    const listing = openListing(prefix, options);
    if (!listing) return;
    const pageSize = listing.pageSize(this.#pageSize, MAX_PAGE_SIZE);
    const folder = folderOf(prefix);
    const read = async (f: string, min: string, max: string | Buffer, count: number) => {
      try {
        return await this.#redis.zrangebylex(this.#keys.folder(f), min, max, 'LIMIT', 0, count);
      } catch (error) {
        throw new StorageError('list', prefix === '' ? '(root)' : prefix, error);
      }
    };
    const names = walk(read, {
      folder,
      namePrefix: prefix.slice(folder.length),
      startAfter: listing.startAfter,
      pageSize,
    });
    yield* listing.take(names);
  }

  /**
   * Calls `listener` whenever a client of this store (this process or another) calls
   * {@link notify} for `folder`: a `SUBSCRIBE` to the folder's channel on one extra
   * connection (`client.duplicate()`) that all watches of this object share, closed when
   * the last one stops. A hint only: while that connection is down nothing arrives (it is
   * reported through `onWarning`, never thrown). See the package README, "Change feed notifications".
   */
  async watch(folder: string, listener: () => void): Promise<() => Promise<void>> {
    assertValidPrefix(folder);
    return this.#notifications.watch(this.notificationChannel(folder), listener);
  }

  /** Tells the watchers of `folder` in every process that it changed: one `PUBLISH` on its channel. */
  async notify(folder: string): Promise<void> {
    assertValidPrefix(folder);
    try {
      await this.#redis.publish(this.notificationChannel(folder), folder);
    } catch (error) {
      throw new StorageError('notify', folder === '' ? '(root)' : folder, error);
    }
  }

  /**
   * The pub/sub channel of `folder` (`{client keyPrefix}{prefix}notify:{folder}`, e.g.
   * `evsrc:notify:.evsrc/feed/`), see {@link watch} and {@link notify}.
   */
  notificationChannel(folder: string): string {
    return notificationChannel(this.client.options.keyPrefix ?? '', this.prefix, folder);
  }

  /**
   * Asks the server whether it keeps every acknowledged write on disk and whether it evicts
   * keys (see {@link RedisFileSystemOptions.checkPersistence}), and warns through `onWarning`
   * if not — each warning once per server per process. Runs once per instance: later calls
   * return the first answer. Resolves `undefined` when the server refuses `CONFIG`.
   */
  checkPersistence(): Promise<PersistenceReport | undefined> {
    this.#persistence ??= readPersistence(this.client).then((report) => {
      for (const warning of [report?.warning, report?.evictionWarning]) {
        if (warning === undefined || !firstTime(warning)) continue;
        try {
          this.#onWarning(warning);
        } catch {
          // A failing warning handler must not become an unhandled rejection.
        }
      }
      return report;
    });
    return this.#persistence;
  }

  /** Fails a write once the persistence check found a server that evicts keys (unless `allowEviction`). */
  async #refuseIfEvicting(operation: string, path: string): Promise<void> {
    if (this.#allowEviction || this.#persistence === undefined) return;
    const report = await this.#persistence;
    if (report?.evictionWarning === undefined) return;
    throw new ConfigurationError(
      `@evsrc/fs-redis: refusing to ${operation} ${path}: the server evicts keys when its memory is full ` +
        `(maxmemory-policy ${report.maxmemoryPolicy}, maxmemory ${report.maxmemory}), which silently loses stored ` +
        'events. Set "maxmemory-policy noeviction" on the server, or open the store with allowEviction: true.',
    );
  }

  /**
   * Closes the notification connection of {@link watch} (if open) and quits the client if
   * the file system built it from `url`; leaves your own client open.
   */
  async close(): Promise<void> {
    await this.#notifications.close();
    // QUIT after what is queued; a client waiting to reconnect is just dropped (it would never end).
    if (this.#owned) await closeClient(this.client, true);
  }

  /** Runs a create or replace script, adding the folder entries of other slots first when sharded. */
  async #write(
    script: ScriptCommands['evsrcFsCreateV1'],
    keys: FileKeys,
    bytes: Buffer,
    requires?: string,
  ): Promise<number> {
    let entries = keys.sameSlot;
    if (this.sharded) {
      // Idempotent, and before the file exists: a crash in between leaves an empty folder entry, which lists nothing.
      await Promise.all(keys.otherSlots.map((e) => this.#redis.zadd(e.key, 0, e.member)));
    } else {
      entries = [...keys.sameSlot, ...keys.otherSlots];
    }
    if (requires === undefined) return script(...scriptArgs(keys.file, bytes, entries));
    // KEYS: file, requires, indexes…; ARGV: bytes, '' (the place of requires), members…
    return script(
      2 + entries.length,
      keys.file,
      requires,
      ...entries.map((e) => e.key),
      bytes,
      '',
      ...entries.map((e) => e.member),
    );
  }
}

/** The hash tag of a key (what picks its cluster slot). */
function hashTagOfKey(key: string): string {
  const open = key.indexOf('{');
  return key.slice(open, key.indexOf('}', open) + 1);
}

/** A copy of a reply (it may share memory with the client's read buffers); `undefined` for nil. */
function copyOf(value: Buffer | null): Buffer | undefined {
  return value === null ? undefined : Buffer.from(value);
}

/** The arguments of a script command: the number of keys, the keys, then the arguments. */
function scriptArgs(file: string, bytes: Buffer, entries: readonly IndexEntry[]): [number, ...Array<string | Buffer>] {
  return [1 + entries.length, file, ...entries.map((e) => e.key), bytes, ...entries.map((e) => e.member)];
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigurationError(`@evsrc/fs-redis: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
