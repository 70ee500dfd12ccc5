import { ConfigurationError } from '@evsrc/core';
import { readUrlParams } from '@evsrc/core/adapter';
import { RedisFileSystem } from './redis-file-system.js';

/**
 * Opens a Redis store from a URL: `redis://[user:password@]host[:port][/db]?prefix=app`
 * or `rediss://…` for TLS. Parameters: `prefix`, `readConcurrency`, `pageSize`, `sharded`,
 * `allowEviction`.
 * The adapter owns the connection it opens (`close()` quits it).
 * @throws {ConfigurationError} for another scheme or an unknown parameter (never echoing the password).
 */
export function fromUrl(url: URL): RedisFileSystem {
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigurationError(`@evsrc/fs-redis opens redis: and rediss: URLs, not ${url.protocol}`);
  }
  const params = readUrlParams(url, {
    prefix: 'string',
    readConcurrency: 'integer',
    pageSize: 'integer',
    sharded: 'boolean',
    allowEviction: 'boolean',
  });
  const connection = new URL(url);
  connection.search = '';
  return new RedisFileSystem({
    url: connection.toString(),
    ...(params.prefix !== undefined ? { prefix: params.prefix } : {}),
    ...(params.readConcurrency ? { readConcurrency: params.readConcurrency } : {}),
    ...(params.pageSize ? { pageSize: params.pageSize } : {}),
    ...(params.sharded === undefined ? {} : { sharded: params.sharded }),
    ...(params.allowEviction === undefined ? {} : { allowEviction: params.allowEviction }),
  });
}
