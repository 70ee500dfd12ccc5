import { FEED_FOLDER } from '@evsrc/core/adapter';
import { freePort } from '@evsrc/test-servers';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import type { RedisFileSystem } from '../src/index.js';
import { describeRedis, openFs, redisUrl, sleep, text } from './helpers.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function tracked(fs: RedisFileSystem): RedisFileSystem {
  cleanup.push(() => fs.close());
  return fs;
}

/** A client for looking at the server (PUBSUB NUMSUB, CLIENT LIST). */
function admin(): Redis {
  const client = new Redis(redisUrl);
  cleanup.push(() => client.quit());
  return client;
}

async function subscribers(client: Redis, channel: string): Promise<number> {
  const reply = (await client.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

/** Waits until `condition` holds (polling every 5 ms), or fails after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describeRedis('RedisFileSystem change notifications', () => {
  it('wakes a watcher when another client notifies its folder; not for other folders or stores; not after unwatch', {
    timeout: 30_000,
  }, async () => {
    const watcher = tracked(openFs());
    const writer = tracked(openFs({ prefix: watcher.prefix }));
    const otherStore = tracked(openFs());
    const server = admin();
    const channel = watcher.notificationChannel(FEED_FOLDER);
    expect(channel).toBe(`${watcher.prefix}notify:${FEED_FOLDER}`);

    let calls = 0;
    const unwatch = await watcher.watch(FEED_FOLDER, () => calls++);
    // Resolved once subscribed: a notification sent now is not lost.
    expect(await subscribers(server, channel)).toBe(1);
    await sleep(50);
    calls = 0; // the first connection's "look again"

    await writer.create(`${FEED_FOLDER}000000000/000000000001.entry`, text('1'));
    await writer.notify(FEED_FOLDER);
    await until(() => calls === 1, 5000, 'the notification');

    await writer.create('other/x', text('x'));
    await writer.notify('other/');
    await otherStore.notify(FEED_FOLDER);
    await writer.notify(''); // the root is another folder, not a parent that hears everything
    await sleep(200);
    expect(calls).toBe(1);

    await unwatch();
    await unwatch(); // idempotent
    expect(await subscribers(server, channel)).toBe(0);
    await writer.notify(FEED_FOLDER);
    await sleep(200);
    expect(calls).toBe(1);
  });

  it('shares one subscriber connection among the watches of a file system, closed with the last one', {
    timeout: 30_000,
  }, async () => {
    const name = `evsrc-notify-${Math.random().toString(36).slice(2)}`;
    const fs = tracked(openFs({ redisOptions: { connectionName: name } }));
    const server = admin();
    const connections = async () =>
      ((await server.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${name} `)).length;
    await fs.read('x'); // the main connection is up
    expect(await connections()).toBe(1);
    const seen = { feed: 0, other: 0 };
    const stops = await Promise.all([
      fs.watch(FEED_FOLDER, () => seen.feed++),
      fs.watch(FEED_FOLDER, () => seen.feed++),
      fs.watch('other/', () => seen.other++),
    ]);
    expect(await connections()).toBe(2);
    await sleep(50); // the first connection's "look again"
    Object.assign(seen, { feed: 0, other: 0 });
    await fs.notify(FEED_FOLDER);
    await until(() => seen.feed === 2, 5000, 'both feed watchers');
    expect(seen.other).toBe(0);
    await stops[0]?.();
    await stops[2]?.();
    expect(await subscribers(server, fs.notificationChannel('other/'))).toBe(0);
    expect(await connections()).toBe(2);
    await stops[1]?.();
    await until(async () => (await connections()) === 1, 5000, 'the subscriber to close');
    // close() also ends a subscriber still in use.
    await fs.watch(FEED_FOLDER, () => undefined);
    expect(await connections()).toBe(2);
    await fs.close();
    await until(async () => (await connections()) === 0, 5000, 'every connection to close');
  });

  it('survives a lost subscriber connection (at most one warning): reconnects, resubscribes and wakes the watcher', {
    timeout: 30_000,
  }, async () => {
    const warnings: string[] = [];
    const name = `evsrc-notify-${Math.random().toString(36).slice(2)}`;
    const fs = tracked(openFs({ redisOptions: { connectionName: name }, onWarning: (w) => warnings.push(w) }));
    const writer = tracked(openFs({ prefix: fs.prefix }));
    const server = admin();
    let calls = 0;
    const unwatch = await fs.watch(FEED_FOLDER, () => calls++);
    const list = (await server.client('LIST')) as string;
    const subscriber = list.split('\n').find((line) => line.includes(` name=${name} `) && / sub=1 /.test(line));
    const id = /\bid=(\d+)/.exec(subscriber ?? '')?.[1];
    expect(id).toBeDefined();
    calls = 0;
    await server.client('KILL', 'ID', id as string);
    // After reconnecting, the watcher is told to look again (it may have missed something)…
    await until(() => calls >= 1, 10_000, 'the wake-up after reconnecting');
    await until(async () => (await subscribers(server, fs.notificationChannel(FEED_FOLDER))) === 1);
    // …and notifications flow again.
    const before = calls;
    await writer.notify(FEED_FOLDER);
    await until(() => calls > before, 5000, 'a notification after reconnecting');
    await unwatch();
    expect(warnings.length).toBeLessThanOrEqual(1);
  });

  it('never throws when the server is unreachable: watch resolves, one warning', async () => {
    const warnings: string[] = [];
    const fs = tracked(
      openFs({
        url: `redis://127.0.0.1:${await freePort()}`,
        checkPersistence: false,
        redisOptions: { retryStrategy: () => 50 },
        onWarning: (w) => warnings.push(w),
      }),
    );
    const started = Date.now();
    const unwatch = await fs.watch(FEED_FOLDER, () => undefined);
    expect(Date.now() - started).toBeLessThan(5000);
    await until(() => warnings.length > 0, 5000, 'a warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/change notifications are unavailable/);
    await expect(fs.notify(FEED_FOLDER)).rejects.toThrow();
    await unwatch();
  }, 20_000);
});
