import { createRedisFileSystem } from '@evsrc/fs-redis';
import { startRedis } from '@evsrc/test-servers';
import { Redis } from 'ioredis';
import type { RawStore, Started, Target } from './types.js';

/** Create-if-absent and the folder's ordered index in one round trip (what any ordered store on Redis needs). */
const CREATE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('ZADD', KEYS[2], 0, ARGV[2])
  return 1
end
return 0`;

interface RawRedis extends Redis {
  benchRawCreate(file: string, index: string, bytes: Buffer, member: string): Promise<number>;
}

/**
 * The raw baseline on Redis, with ioredis only: create = one script doing `SET NX` plus a
 * `ZADD` to the folder's sorted set; list = one `ZRANGEBYLEX`; read = `GET`.
 */
class IoredisStore implements RawStore {
  constructor(
    readonly client: RawRedis,
    readonly prefix: string,
  ) {}

  async create(path: string, bytes: Uint8Array): Promise<void> {
    const slash = path.lastIndexOf('/') + 1;
    const index = `${this.prefix}d:${path.slice(0, slash)}`;
    const done = await this.client.benchRawCreate(
      `${this.prefix}f:${path}`,
      index,
      Buffer.from(bytes),
      path.slice(slash),
    );
    if (done !== 1) throw new Error(`exists: ${path}`);
  }

  async list(folder: string, startAfter?: string): Promise<string[]> {
    const min = startAfter === undefined ? '-' : `(${startAfter.slice(folder.length)}`;
    const names = await this.client.zrangebylex(`${this.prefix}d:${folder}`, min, '+');
    return names.map((n) => folder + n);
  }

  async read(path: string): Promise<Uint8Array> {
    const bytes = await this.client.getBuffer(`${this.prefix}f:${path}`);
    if (bytes === null) throw new Error(`missing: ${path}`);
    return bytes;
  }
}

export async function startRedisBackend(): Promise<Started> {
  const server = await startRedis();
  if ('skip' in server) return server;
  const raw = new Redis(server.url) as RawRedis;
  raw.defineCommand('benchRawCreate', { numberOfKeys: 2, lua: CREATE });
  const closing: (() => Promise<void>)[] = [];
  return {
    name: 'redis',
    network: true,
    description:
      'a private redis-server on loopback (test-servers defaults: no persistence, so no disk cost), fresh key prefix per run. evsrc: @evsrc/fs-redis (its own ioredis connection). raw: one ioredis connection — a Lua script SET NX + ZADD of the folder index; ZRANGEBYLEX; GET.',
    async target(label: string): Promise<Target> {
      const fileSystem = createRedisFileSystem({ url: server.url, prefix: `bench:${label}:`, checkPersistence: false });
      closing.push(() => fileSystem.close());
      const store = new IoredisStore(raw, `raw:${label}:`);
      return { fileSystem, raw: store, setup: { fileSystem, raw: store }, close: () => fileSystem.close() };
    },
    async stop() {
      await Promise.allSettled(closing.map((close) => close()));
      raw.disconnect();
      await server.stop();
    },
  };
}
