/**
 * `@evsrc/fs-redis`: a `FileSystem` for evsrc on Redis, through ioredis.
 *
 * @example
 * ```ts
 * import { createRedisFileSystem } from '@evsrc/fs-redis';
 * const fileSystem = createRedisFileSystem({ url: 'redis://localhost:6379', prefix: 'bank:' });
 * ```
 *
 * @packageDocumentation
 */
import { RedisFileSystem, type RedisFileSystemOptions } from './redis-file-system.js';

export { assertValidKeyPrefix, type FileKeys, hashTag, type IndexEntry, KeyLayout, ROOT_TAG } from './keys.js';
export { evictionWarning, type PersistenceReport, persistenceWarning } from './persistence.js';
export { MAX_PAGE_SIZE, RedisFileSystem, type RedisFileSystemOptions } from './redis-file-system.js';

/** Builds a {@link RedisFileSystem}: from your ioredis client or cluster (`client`), or from a `url`. */
export function createRedisFileSystem(options: RedisFileSystemOptions): RedisFileSystem {
  return new RedisFileSystem(options);
}
export { fromUrl } from './url.js';
