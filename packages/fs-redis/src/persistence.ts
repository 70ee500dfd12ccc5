/**
 * Asks the server how it keeps data on disk and whether it evicts keys, and says what is
 * wrong with that for an event store.
 *
 * @module
 */
import type { Cluster, Redis } from 'ioredis';

/** What the server reported through `CONFIG GET` (on a cluster: one node, picked by the client). */
export interface PersistenceReport {
  /** `yes` or `no`. */
  readonly appendonly: string | undefined;
  /** `always`, `everysec` or `no`. */
  readonly appendfsync: string | undefined;
  /** The RDB snapshot rules, `''` when snapshots are off. */
  readonly save: string | undefined;
  /** The memory limit in bytes, `'0'` for none. */
  readonly maxmemory: string | undefined;
  /** What the server does at the memory limit: `noeviction`, `allkeys-lru`, `volatile-lru`, … */
  readonly maxmemoryPolicy: string | undefined;
  /** Why these settings can lose acknowledged saves in a crash, or `undefined` if they keep them. */
  readonly warning: string | undefined;
  /** Why the server may drop the store's keys by itself (eviction), or `undefined` if it never does. */
  readonly evictionWarning: string | undefined;
}

/** Where the operator's guide is. */
const GUIDE =
  'see "When the store loses data" in docs/reference/guarantees.md and "Persistence" in the @evsrc/fs-redis README';

/** What evsrc does about a lost tail of saves, so the operator knows what the symptoms will be. */
const AFTER_A_LOSS =
  'After such a loss, a writer still holding a lost version in memory gets EVSRC_STREAM_INTEGRITY on its next save ' +
  '(it must reload) instead of writing past the hole, a change-feed reader that had read a lost log position fails ' +
  'instead of skipping what was logged there again, and `evsrc verify` reports the holes';

const FIX = 'For an event store, set "appendonly yes" with "appendfsync always".';

/**
 * The warning for a set of persistence settings, or `undefined` when every acknowledged
 * write is on disk before Redis answers (`appendonly yes`, `appendfsync always`) or the
 * settings are unknown. `server` names the server in the message.
 */
export function persistenceWarning(
  appendonly: string | undefined,
  save: string | undefined,
  appendfsync?: string,
  server = 'the Redis server',
): string | undefined {
  const lead = `@evsrc/fs-redis: ${server}`;
  const tail = `${AFTER_A_LOSS}; ${GUIDE}. ${FIX}`;
  if (appendonly === 'no') {
    if (save === '') {
      return `${lead} keeps nothing on disk (appendonly no, save ""): a restart loses every stored event. ${tail}`;
    }
    if (save === undefined) return undefined;
    return `${lead} keeps only RDB snapshots (appendonly no, save "${save}"): a crash or a restart without a clean shutdown loses every save since the last snapshot. ${tail}`;
  }
  if (appendonly !== 'yes') return undefined;
  if (appendfsync === 'everysec') {
    return `${lead} flushes its append-only file once a second (appendfsync everysec): a crash of the server's host (power cut, kernel panic, VM stopped) loses about the last second of acknowledged saves, more while the disk is slow. ${tail}`;
  }
  if (appendfsync === 'no') {
    return `${lead} leaves it to the operating system to flush its append-only file (appendfsync no, usually every 30 s): a crash of the server's host loses every acknowledged save not yet flushed. ${tail}`;
  }
  return undefined;
}

/**
 * The warning for an eviction policy, or `undefined` when the server never drops the
 * store's keys: no memory limit (`maxmemory 0`), `noeviction` (writes fail when memory is
 * full), or a `volatile-*` policy (it evicts only keys with an expiry, and evsrc sets none).
 */
export function evictionWarning(
  policy: string | undefined,
  maxmemory: string | undefined,
  server = 'the Redis server',
): string | undefined {
  if (policy === undefined || !policy.startsWith('allkeys-')) return undefined;
  if (maxmemory === undefined || maxmemory === '0') return undefined;
  return (
    `@evsrc/fs-redis: ${server} evicts keys when its memory is full (maxmemory-policy ${policy}, maxmemory ${maxmemory}): ` +
    'it silently drops batch files, snapshots, feed entries and folder indexes, and every aggregate that loses one can ' +
    'no longer be loaded (EVSRC_CORRUPT_FILE, EVSRC_STREAM_INTEGRITY). Writes through this store are refused ' +
    '(EVSRC_CONFIGURATION) unless it is opened with allowEviction: true. Set "maxmemory-policy noeviction" ' +
    `(a full server then refuses writes, which evsrc reports as storage errors); ${GUIDE}.`
  );
}

/** The value of one setting from a `CONFIG GET` reply (a flat `[name, value]` array). */
function settingIn(reply: unknown, name: string): string | undefined {
  if (!Array.isArray(reply)) return undefined;
  const i = reply.indexOf(name);
  const value: unknown = i >= 0 ? reply[i + 1] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Names the server a client talks to, for warnings and for warning once per server:
 * `host:port` (or the socket path); for a cluster, its known masters.
 */
export function serverAddress(client: Redis | Cluster): string {
  if (client.isCluster) {
    const nodes = (client as Cluster)
      .nodes('master')
      .map((node) => `${node.options.host}:${node.options.port}`)
      .sort();
    return `cluster ${nodes.join(',') || '(not connected)'}`;
  }
  const { host, port, path } = (client as Redis).options;
  return path ? path : `${host ?? 'localhost'}:${port ?? 6379}`;
}

/**
 * Reads `appendonly`, `appendfsync`, `save`, `maxmemory` and `maxmemory-policy`. Resolves
 * `undefined` when the server does not allow `CONFIG` (renamed or disabled command, ACL,
 * managed services).
 */
export async function readPersistence(client: Redis | Cluster): Promise<PersistenceReport | undefined> {
  const get = (name: string) => (client as Redis).config('GET', name).then((reply) => settingIn(reply, name));
  try {
    const [appendonly, appendfsync, save, maxmemory, maxmemoryPolicy] = await Promise.all(
      ['appendonly', 'appendfsync', 'save', 'maxmemory', 'maxmemory-policy'].map(get),
    );
    if (appendonly === undefined && save === undefined && maxmemoryPolicy === undefined) return undefined;
    const server = `the Redis server at ${serverAddress(client)}`;
    return {
      appendonly,
      appendfsync,
      save,
      maxmemory,
      maxmemoryPolicy,
      warning: persistenceWarning(appendonly, save, appendfsync, server),
      evictionWarning: evictionWarning(maxmemoryPolicy, maxmemory, server),
    };
  } catch {
    return undefined;
  }
}

/** The warnings already given in this process (each names its server and settings). */
const given = new Set<string>();

/**
 * Whether `warning` is new to this process: each server's warnings are given once per
 * process, however many stores are opened on it (issue 20).
 */
export function firstTime(warning: string): boolean {
  if (given.has(warning)) return false;
  given.add(warning);
  return true;
}
