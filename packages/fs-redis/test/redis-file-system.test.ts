import { ErrorCode, type FileSystem, isEvsrcError, Repository, StorageError } from '@evsrc/core';
import { batchPath } from '@evsrc/core/internals';
import { freePort } from '@evsrc/test-servers';
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { createRedisFileSystem, RedisFileSystem } from '../src/index.js';
import { Notebook, notebookType } from './domain.js';
import {
  audit,
  collect,
  describeRedis,
  freshPrefix,
  hashedPart,
  keysUnder,
  openFs,
  quiet,
  recordCommands,
  redisUrl,
  text,
} from './helpers.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A client of the caller's own, closed after the test. */
function userClient(options: RedisOptions = {}): Redis {
  const client = new Redis(redisUrl, options);
  cleanup.push(() => client.quit());
  return client;
}

function tracked(fs: RedisFileSystem): RedisFileSystem {
  cleanup.push(() => fs.close());
  return fs;
}

describeRedis('RedisFileSystem', () => {
  it('keeps the folder indexes and the files in agreement through concurrent writes and deletes', async () => {
    const prefix = freshPrefix();
    const a = tracked(openFs({ prefix }));
    const b = tracked(openFs({ prefix, sharded: true }));
    const names = ['t/1/events/a', 't/1/events/b', 't/1/snapshots/s', 't/2/events/a', 'u/x', 'root', 'v/w/x/y/z'];
    const live = new Set<string>();
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const fs = i % 2 ? a : b;
        const name = names[(i * 7) % names.length] as string;
        if (i % 3 === 0) await fs.delete(name);
        else await fs.replace(name, text(`${i}`));
      }),
    );
    for (const name of names) if ((await a.read(name)) !== undefined) live.add(name);
    expect(await collect(a.list(''))).toEqual([...live].sort());
    expect(await audit(a.client as Redis, prefix)).toEqual([]);
    for (const name of names) await b.delete(name);
    expect(await collect(a.list(''))).toEqual([]);
    expect(await audit(a.client as Redis, prefix)).toEqual([]);
  });

  it('removes emptied folders of the file’s own hash slot and keeps the harmless entries in other slots', async () => {
    const fs = tracked(openFs());
    const redis = fs.client as Redis;
    await fs.create('t/i/events/1', text('x'));
    await fs.create('t/i/snapshots/1', text('x'));
    await fs.delete('t/i/events/1');
    expect(await redis.zrange(`${fs.prefix}{t/i}:d:t/i/`, 0, -1)).toEqual(['snapshots/']);
    await fs.delete('t/i/snapshots/1');
    expect(await redis.exists(`${fs.prefix}{t/i}:d:t/i/`, `${fs.prefix}{t/i}:d:t/i/events/`)).toBe(0);
    expect(await redis.zrange(`${fs.prefix}{t}:d:t/`, 0, -1)).toEqual(['i/']);
    expect(await redis.zrange(`${fs.prefix}{/}:d:`, 0, -1)).toEqual(['t/']);
    expect(await collect(fs.list(''))).toEqual([]);
    await fs.create('t/i/events/1', text('again'));
    expect(await collect(fs.list('t/'))).toEqual(['t/i/events/1']);
  });

  it('lists with ZRANGEBYLEX pages only, never scanning the keyspace', async () => {
    const client = userClient();
    const fs = tracked(new RedisFileSystem({ client, prefix: freshPrefix(), checkPersistence: false }));
    const names = Array.from({ length: 25 }, (_, i) => `l/${String(i).padStart(2, '0')}`);
    for (const n of names) await fs.create(n, text(n));
    await fs.create('l2/x', text('.'));
    const sent = recordCommands(client);
    expect(await collect(fs.list('l/', { pageSize: 10 }))).toEqual(names);
    expect(sent.map((c) => c.name)).toEqual(['zrangebylex', 'zrangebylex', 'zrangebylex']);
    expect(sent.map((c) => c.args.slice(-3))).toEqual([
      ['LIMIT', '0', '10'],
      ['LIMIT', '0', '10'],
      ['LIMIT', '0', '10'],
    ]);
    sent.length = 0;
    expect(await collect(fs.list('', { limit: 3 }))).toEqual(names.slice(0, 3));
    expect(await collect(fs.list('l', { startAfter: 'l/23' }))).toEqual(['l/24', 'l2/x']);
    await fs.read('l/00');
    await fs.delete('l/00');
    expect(sent.filter((c) => /^(scan|keys)$/i.test(c.name))).toEqual([]);
  });

  it('runs every script of an aggregate in that aggregate’s hash slot (sharded mode)', async () => {
    const client = userClient();
    const fs = tracked(new RedisFileSystem({ client, prefix: freshPrefix(), sharded: true, checkPersistence: false }));
    await client.ping();
    const sent = recordCommands(client);
    const repo = new Repository({ fileSystem: fs, aggregates: [notebookType(2)] });
    const book = new Notebook('My Book');
    for (let i = 0; i < 5; i++) {
      book.write(`n${i}`);
      await repo.save(book);
    }
    await fs.delete(batchPath('notebook', 'My Book', 1));
    // The entries of other slots (`notebook/` in the root, the id in `notebook/`) go first
    // (after the first save's look at the feed marker, a GET).
    const writes = sent.filter((c) => c.name !== 'get');
    expect(writes.slice(0, 3).map((c) => c.name)).toEqual(['zadd', 'zadd', 'evalsha']);
    const scripts = sent.filter((c) => c.name === 'evalsha' || c.name === 'eval');
    expect(scripts.length).toBeGreaterThanOrEqual(7); // five batches, two snapshots
    const slots = new Set<string>();
    for (const { args } of scripts) {
      const count = Number(args[1]);
      const keys = args.slice(2, 2 + count).map(String);
      expect(new Set(keys.map(hashedPart)).size, keys.join(' ')).toBe(1);
      slots.add(hashedPart(keys[0] as string));
    }
    // `My Book` is stored as `%4dy%20%42ook`; the tag escapes its `%` signs.
    expect([...slots]).toEqual(['notebook/%254dy%2520%2542ook']);
  });

  it('writes everything in one script on a standalone server when not sharded', async () => {
    const client = userClient();
    const fs = tracked(new RedisFileSystem({ client, prefix: freshPrefix(), checkPersistence: false }));
    expect(fs.sharded).toBe(false);
    await client.ping();
    const sent = recordCommands(client);
    await fs.create('a/b/c/d', text('x'));
    expect(sent.map((c) => c.name)).toEqual(['evalsha']);
    expect(sent[0]?.args[1]).toBe('5'); // the file, its folder, and the folders b/, a/ and the root
  });

  it('stores through a client with its own keyPrefix, and keeps the caller’s client open on close', async () => {
    const client = userClient({ keyPrefix: 'kp:' });
    const fs = new RedisFileSystem({ client, prefix: 'store:', onWarning: quiet, checkPersistence: false });
    await fs.replace('x/y/z', text('one'));
    await fs.create('x/w', text('two'));
    expect(await collect(fs.list('x/'))).toEqual(['x/w', 'x/y/z']);
    const raw = userClient();
    expect((await keysUnder(raw, 'kp:store:')).sort()).toEqual(
      [
        'kp:store:{/}:d:',
        'kp:store:{x/y}:d:x/y/',
        'kp:store:{x/y}:f:x/y/z',
        'kp:store:{x}:d:x/',
        'kp:store:{x}:f:x/w',
      ].sort(),
    );
    await fs.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    for (const n of ['x/y/z', 'x/w']) await fs.delete(n);
    // Only the entries of other slots stay: the root's `x/` and `x/`'s `y/`.
    expect((await keysUnder(raw, 'kp:store:')).sort()).toEqual(['kp:store:{/}:d:', 'kp:store:{x}:d:x/'].sort());
    await raw.del('kp:store:{/}:d:', 'kp:store:{x}:d:x/');
  });

  it('quits the client it built from a URL on close', async () => {
    const fs = openFs();
    await fs.create('a', text('x'));
    await fs.close();
    expect(fs.client.status).toBe('end');
    const error = await fs.read('a').catch((e: unknown) => e);
    expect(isEvsrcError(error, ErrorCode.Storage)).toBe(true);
  });

  it('turns backend failures into StorageError naming the path', async () => {
    const port = await freePort(); // nothing listens there
    const fs = tracked(
      new RedisFileSystem({
        url: `redis://127.0.0.1:${port}`,
        redisOptions: { retryStrategy: () => null, maxRetriesPerRequest: 0 },
        onWarning: quiet,
      }),
    );
    const calls: Array<[string, Promise<unknown>]> = [
      ['read', fs.read('t/i/events/1')],
      ['create', fs.create('t/i/events/1', text('x'))],
      ['replace', fs.replace('t/i/events/1', text('x'))],
      ['delete', fs.delete('t/i/events/1')],
      ['list', collect(fs.list('t/i/'))],
    ];
    for (const [operation, call] of calls) {
      const error = await call.catch((e: unknown) => e);
      expect(error, operation).toBeInstanceOf(StorageError);
      expect(error).toMatchObject({
        code: ErrorCode.Storage,
        operation,
        path: operation === 'list' ? 't/i/' : 't/i/events/1',
      });
    }
    expect(await fs.checkPersistence()).toBeUndefined();
  });

  it('tolerates a server that refuses CONFIG', async () => {
    const admin = userClient();
    const user = `no-config-${freshPrefix().slice(5, -1)}`;
    await admin.call('ACL', 'SETUSER', user, 'on', '>secret', '~*', '&*', '+@all', '-config');
    cleanup.push(() => admin.call('ACL', 'DELUSER', user));
    const url = new URL(redisUrl);
    url.username = user;
    url.password = 'secret';
    const warnings: string[] = [];
    const fs = tracked(
      new RedisFileSystem({ url: url.href, prefix: freshPrefix(), onWarning: (m) => warnings.push(m) }),
    );
    expect(await fs.checkPersistence()).toBeUndefined();
    await fs.create('a/b', text('x'));
    expect(await collect(fs.list(''))).toEqual(['a/b']);
    expect(warnings).toEqual([]);
  });

  it('checks its options', () => {
    const client = userClient();
    for (const bad of [
      () => new RedisFileSystem({}),
      () => new RedisFileSystem({ client, url: redisUrl }),
      () => new RedisFileSystem({ client, prefix: 'a{b}' }),
      () => new RedisFileSystem({ client: userClient({ keyPrefix: '{kp}' }) }),
      () => new RedisFileSystem({ client, readConcurrency: 0 }),
      () => new RedisFileSystem({ client, pageSize: 1.5 }),
    ]) {
      const error = (() => {
        try {
          bad();
        } catch (e) {
          return e;
        }
      })();
      expect(isEvsrcError(error, ErrorCode.Configuration), String(error)).toBe(true);
    }
    const fs = createRedisFileSystem({ client, checkPersistence: false });
    expect(fs).toBeInstanceOf(RedisFileSystem);
    expect([fs.readConcurrency, fs.prefix]).toEqual([16, 'evsrc:']);
    expect(new RedisFileSystem({ client, readConcurrency: 3, checkPersistence: false }).readConcurrency).toBe(3);
  });

  it('lets a retried save whose first reply was lost succeed once, by its commit id', async () => {
    const fs = tracked(openFs());
    // The first create reaches Redis, but its answer is "lost": the caller sees a storage error.
    let lose = true;
    const flaky: FileSystem = {
      read: (p) => fs.read(p),
      list: (p, o) => fs.list(p, o),
      replace: (p, d) => fs.replace(p, d),
      delete: (p) => fs.delete(p),
      create: async (p, d) => {
        await fs.create(p, d);
        if (lose) {
          lose = false;
          throw new StorageError('create', p, new Error('Connection is closed.'));
        }
      },
    };
    const repo = new Repository({ fileSystem: flaky, aggregates: [notebookType()] });
    const book = new Notebook('b');
    book.write('first');
    await expect(repo.save(book)).rejects.toSatisfy((e) => isEvsrcError(e, ErrorCode.Storage));
    expect(book.pendingEvents).toHaveLength(1);
    const records = await repo.save(book);
    expect(records.map((r) => r.version)).toEqual([1]);
    book.write('second');
    await repo.save(book);
    const again = await new Repository({ fileSystem: fs, aggregates: [notebookType()] }).get(Notebook, 'b');
    expect(again.notes).toEqual(['first', 'second']);
    expect(await collect(fs.list(''))).toHaveLength(2);
  });
});
