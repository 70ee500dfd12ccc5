import { ErrorCode, type FileSystem, isEvsrcError } from '@evsrc/core';
import { FEED_FOLDER } from '@evsrc/core/adapter';
import {
  describeFeedContract,
  describeFileSystemContract,
  describeRepositoryContract,
} from '@evsrc/core/testing/vitest';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisFileSystem } from '../src/index.js';
import { startCluster, type TestCluster } from './cluster.js';
import { audit, collect, describeRedis, freshPrefix, quiet, sleep, text } from './helpers.js';

describeRedis('fs-redis on a three-node Redis Cluster', () => {
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster(3);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const connect = () => {
    const client = new Cluster([...(cluster?.nodes ?? [])]);
    client.on('error', () => undefined);
    return client;
  };
  const open = (prefix = freshPrefix()) => new RedisFileSystem({ client: connect(), prefix, onWarning: quiet });
  const options = {
    create: () => open(),
    secondClient: (fs: FileSystem) => open((fs as RedisFileSystem).prefix),
    dispose: async (fs: FileSystem) => {
      await fs.close?.(); // the notification connection, if a watch left it open
      await (fs as RedisFileSystem).client.quit();
    },
  };
  describeFileSystemContract('Redis Cluster', options);
  describeRepositoryContract('Redis Cluster', options);
  describeFeedContract('Redis Cluster', { ...options, notifies: true });

  it('detects the cluster and spreads a store over the nodes, one aggregate per slot', async () => {
    const fs = open();
    try {
      expect(fs.sharded).toBe(true);
      const names = Array.from({ length: 40 }, (_, i) => `type/id-${i}/events/000000000001.batch`);
      for (const n of names) await fs.create(n, text(n));
      expect(await collect(fs.list('type/'))).toEqual([...names].sort());
      // The keys live on more than one node.
      const client = fs.client as Cluster;
      const counts = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
      expect(counts.filter((c) => c > 0).length).toBeGreaterThan(1);
      for (const n of names.slice(0, 20)) await fs.delete(n);
      expect(await collect(fs.list(''))).toEqual([...names.slice(20)].sort());
      // Each node holds a share of the keys: together, the indexes and the files agree.
      expect(await audit(client.nodes('master'), fs.prefix)).toEqual([]);
    } finally {
      await (fs.client as Cluster).quit();
    }
  });

  it('carries change notifications between two cluster clients (PUBLISH is broadcast to every node)', async () => {
    const watcher = open();
    const writer = open(watcher.prefix);
    try {
      let calls = 0;
      const unwatch = await watcher.watch(FEED_FOLDER, () => calls++);
      await sleep(50);
      calls = 0; // the first connection's "look again"
      for (let i = 1; i <= 3; i++) {
        await writer.notify(FEED_FOLDER);
        const deadline = Date.now() + 5000;
        while (calls < i && Date.now() < deadline) await sleep(5);
        expect(calls).toBe(i);
      }
      await writer.notify('other/');
      await sleep(200);
      expect(calls).toBe(3);
      await unwatch();
      await writer.notify(FEED_FOLDER);
      await sleep(200);
      expect(calls).toBe(3);
    } finally {
      for (const fs of [watcher, writer]) {
        await fs.close();
        await (fs.client as Cluster).quit();
      }
    }
  });

  it('shows that the cluster refuses a script across slots (what `sharded` avoids)', async () => {
    const client = connect();
    try {
      const fs = new RedisFileSystem({ client, prefix: freshPrefix(), sharded: false, checkPersistence: false });
      const error = await fs.create('type/id/events/1', text('x')).catch((e: unknown) => e);
      expect(isEvsrcError(error, ErrorCode.Storage)).toBe(true);
      expect(String(error)).toMatch(/CROSSSLOT/);
      expect(await fs.read('type/id/events/1')).toBeUndefined();
    } finally {
      await client.quit();
    }
  });
});
