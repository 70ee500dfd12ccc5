import { createRedisFileSystem } from '@evsrc/fs-redis';

const fileSystem = createRedisFileSystem({ url: process.env.REDIS_URL ?? 'redis://localhost:6379', prefix: 'bank' });
// Or your own ioredis client or Cluster: createRedisFileSystem({ client, prefix: 'bank' })
await fileSystem.replace('hello.txt', new TextEncoder().encode('hi'));
console.log(new TextDecoder().decode(await fileSystem.read('hello.txt'))); // hi
await fileSystem.close();
