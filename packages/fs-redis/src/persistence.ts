/**
 * Asks the server how it keeps data on disk, and says what is wrong with that for an event
 * store.
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
  /** Why these settings can lose acknowledged saves, or `undefined` if they keep them. */
  readonly warning: string | undefined;
}

const FIX = 'set "appendonly yes" with "appendfsync always" (or "everysec", which may lose the last second)';

/** The warning for a set of settings, or `undefined` when the append-only file is on. */
export function persistenceWarning(appendonly: string | undefined, save: string | undefined): string | undefined {
  if (appendonly !== 'no') return undefined;
  if (save === '') {
    return `@evsrc/fs-redis: the Redis server keeps nothing on disk (appendonly no, save ""): a restart loses every stored event. For an event store, ${FIX}.`;
  }
  if (save === undefined) return undefined;
  return `@evsrc/fs-redis: the Redis server keeps only RDB snapshots (appendonly no, save "${save}"): a crash loses every save since the last snapshot. For an event store, ${FIX}.`;
}

/** The value of one setting from a `CONFIG GET` reply (a flat `[name, value]` array). */
function settingIn(reply: unknown, name: string): string | undefined {
  if (!Array.isArray(reply)) return undefined;
  const i = reply.indexOf(name);
  const value: unknown = i >= 0 ? reply[i + 1] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Reads `appendonly`, `appendfsync` and `save`. Resolves `undefined` when the server does not
 * allow `CONFIG` (renamed or disabled command, ACL, managed services).
 */
export async function readPersistence(client: Redis | Cluster): Promise<PersistenceReport | undefined> {
  const get = (name: string) => (client as Redis).config('GET', name).then((reply) => settingIn(reply, name));
  try {
    const [appendonly, appendfsync, save] = await Promise.all([get('appendonly'), get('appendfsync'), get('save')]);
    if (appendonly === undefined && save === undefined) return undefined;
    return { appendonly, appendfsync, save, warning: persistenceWarning(appendonly, save) };
  } catch {
    return undefined;
  }
}
