import type { FileSystem } from '@evsrc/core';
import {
  describeFeedContract,
  describeFileSystemContract,
  describeRepositoryContract,
} from '@evsrc/core/testing/vitest';
import { Redis } from 'ioredis';
import { RedisFileSystem } from '../src/index.js';
import { describeRedis, openFs, quiet, redisUrl } from './helpers.js';

describeRedis('fs-redis contract suites', () => {
  // Built from a URL: one script writes everything (standalone server). The second client
  // is a separate file system with its own connection on the same prefix.
  const fromUrl = {
    create: () => openFs(),
    secondClient: (fs: FileSystem) => openFs({ prefix: (fs as RedisFileSystem).prefix }),
  };
  describeFileSystemContract('Redis (URL, standalone)', fromUrl);
  describeRepositoryContract('Redis (URL, standalone)', fromUrl);
  describeFeedContract('Redis (URL, standalone)', { ...fromUrl, notifies: true });

  // Built on the caller's own ioredis clients, in sharded mode: the same code path as on a
  // cluster (every script in one hash slot), on a standalone server.
  const ownClient = (prefix?: string) =>
    new RedisFileSystem({
      client: new Redis(redisUrl),
      sharded: true,
      onWarning: quiet,
      ...(prefix ? { prefix } : {}),
    });
  const fromClient = {
    create: () => ownClient(`test-${Math.random().toString(36).slice(2)}:`),
    secondClient: (fs: FileSystem) => ownClient((fs as RedisFileSystem).prefix),
    dispose: async (fs: FileSystem) => {
      await fs.close?.();
      await (fs as RedisFileSystem).client.quit();
    },
  };
  describeFileSystemContract('Redis (own client, sharded mode)', fromClient);
  describeRepositoryContract('Redis (own client, sharded mode)', fromClient);
});
