import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, isEvsrcError } from '@evsrc/core';
import { startRedis } from '@evsrc/test-servers';
import { afterAll, afterEach, expect, it } from 'vitest';
import { evictionWarning, persistenceWarning, RedisFileSystem, type RedisFileSystemOptions } from '../src/index.js';
import { collect, describeRedis, freshPrefix, text } from './helpers.js';

// Each test starts a private redis-server with the settings it is about (a free loopback
// port; the data folder, if any, in a temporary folder). The warnings are given once per
// server per process, and every server here has its own port, so each test sees its own.

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});
const folders: string[] = [];
afterAll(() => Promise.all(folders.map((f) => rm(f, { recursive: true, force: true }))));

/** A private server with `args` (plus a temporary `--dir`); its URL. */
async function server(args: readonly string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'evsrc-redis-persistence-'));
  folders.push(dir);
  const started = await startRedis({ args: [...args, '--dir', dir] });
  if ('skip' in started) throw new Error(started.skip);
  cleanup.push(() => started.stop());
  return started.url;
}

/** A store on `url` whose warnings go to `warnings`. */
function open(url: string, warnings: string[], options: Partial<RedisFileSystemOptions> = {}): RedisFileSystem {
  const fs = new RedisFileSystem({ url, prefix: freshPrefix(), onWarning: (m) => warnings.push(m), ...options });
  cleanup.push(() => fs.close());
  return fs;
}

const AOF = ['--save', '', '--appendonly', 'yes'];

describeRedis('the persistence check', () => {
  it('warns once per server per process, however many stores are opened on it', async () => {
    const url = await server(['--save', '', '--appendonly', 'no']);
    const warnings: string[] = [];
    const stores = [open(url, warnings), open(url, warnings), open(url, warnings)];
    const reports = await Promise.all(stores.map((fs) => fs.checkPersistence()));
    for (const report of reports) expect(report).toMatchObject({ appendonly: 'no', save: '' });
    // Every store has the warning in its report; it was given once, by whichever store heard first.
    expect(reports.every((r) => r?.warning === reports[0]?.warning)).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /server at 127\.0\.0\.1:\d+ keeps nothing on disk.*"appendonly yes" with "appendfsync always"/,
    );
    const later: string[] = [];
    const another = open(url, later);
    await another.create('a', text('x'));
    await another.checkPersistence();
    expect(later).toEqual([]);
    // Another server is another warning.
    const elsewhere: string[] = [];
    await open(await server(['--save', '', '--appendonly', 'no']), elsewhere).checkPersistence();
    expect(elsewhere).toHaveLength(1);
    // Unchecked: nothing asked, nothing said.
    const silent: string[] = [];
    const unchecked = open(await server(['--save', '', '--appendonly', 'no']), silent, { checkPersistence: false });
    await unchecked.create('a', text('x'));
    expect(silent).toEqual([]);
  });

  it('warns that appendfsync everysec can lose the last second, and what evsrc does about it', async () => {
    const warnings: string[] = [];
    const fs = open(await server([...AOF, '--appendfsync', 'everysec']), warnings);
    expect(await fs.checkPersistence()).toMatchObject({ appendonly: 'yes', appendfsync: 'everysec' });
    expect(warnings).toHaveLength(1);
    const [warning] = warnings;
    expect(warning).toMatch(/appendfsync everysec.*loses about the last second of acknowledged saves/);
    expect(warning).toMatch(/EVSRC_STREAM_INTEGRITY on its next save/);
    expect(warning).toMatch(/change-feed reader that had read a lost log position fails/);
    expect(warning).toMatch(/`evsrc verify` reports the holes/);
    expect(warning).toMatch(/"When the store loses data" in docs\/reference\/guarantees\.md/);
    expect(warning).toMatch(/"appendonly yes" with "appendfsync always"/);
    // A warning, not a refusal.
    await fs.create('a', text('x'));
    expect(new Uint8Array((await fs.read('a')) ?? [])).toEqual(text('x'));
  });

  it('warns about appendfsync no and about RDB snapshots only', async () => {
    const fsyncNo: string[] = [];
    await open(await server([...AOF, '--appendfsync', 'no']), fsyncNo).checkPersistence();
    expect(fsyncNo).toHaveLength(1);
    expect(fsyncNo[0]).toMatch(/appendfsync no.*loses every acknowledged save not yet flushed.*appendfsync always/);
    const rdb: string[] = [];
    const report = await open(await server(['--appendonly', 'no', '--save', '3600 1']), rdb).checkPersistence();
    expect(report).toMatchObject({ appendonly: 'no', save: '3600 1' });
    expect(rdb).toHaveLength(1);
    expect(rdb[0]).toMatch(/only RDB snapshots.*loses every save since the last snapshot.*EVSRC_STREAM_INTEGRITY/);
  });

  it('says nothing about appendfsync always, nor about a memory limit without eviction', async () => {
    for (const extra of [
      [],
      ['--maxmemory', '10mb', '--maxmemory-policy', 'noeviction'],
      // volatile-* evicts only keys with an expiry, and evsrc sets none.
      ['--maxmemory', '10mb', '--maxmemory-policy', 'volatile-lru'],
      // No memory limit: nothing is ever evicted, whatever the policy.
      ['--maxmemory-policy', 'allkeys-lru'],
    ]) {
      const warnings: string[] = [];
      const fs = open(await server([...AOF, '--appendfsync', 'always', ...extra]), warnings);
      const report = await fs.checkPersistence();
      expect(report, extra.join(' ')).toMatchObject({ warning: undefined, evictionWarning: undefined });
      await fs.create('a', text('x'));
      expect(warnings, extra.join(' ')).toEqual([]);
    }
  });

  it('refuses to write to a server that evicts keys, and shows why: with allowEviction, stored files vanish', async () => {
    const url = await server([
      ...AOF,
      '--appendfsync',
      'always',
      '--maxmemory',
      '10mb',
      '--maxmemory-policy',
      'allkeys-lru',
    ]);
    const warnings: string[] = [];
    const fs = open(url, warnings);
    // Refused from the first write on: the write waits for the check.
    const error = await fs.create('t/i/events/000000000001.batch', text('x')).catch((e: unknown) => e);
    expect(isEvsrcError(error, ErrorCode.Configuration), String(error)).toBe(true);
    expect(String(error)).toMatch(/refusing to create t\/i\/events\/000000000001\.batch.*allkeys-lru.*allowEviction/);
    for (const write of [() => fs.replace('x', text('x')), () => fs.delete('x')]) {
      expect(isEvsrcError(await write().catch((e: unknown) => e), ErrorCode.Configuration)).toBe(true);
    }
    expect(await fs.checkPersistence()).toMatchObject({
      maxmemory: String(10 * 1024 * 1024),
      maxmemoryPolicy: 'allkeys-lru',
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /evicts keys when its memory is full \(maxmemory-policy allkeys-lru, maxmemory 10485760\)/,
    );
    expect(warnings[0]).toMatch(/EVSRC_CORRUPT_FILE.*refused.*allowEviction: true.*"maxmemory-policy noeviction"/);
    // Reads still work (to copy the data elsewhere).
    expect(await fs.read('anything')).toBeUndefined();

    // What the refusal prevents: 20 MB into a 10 MB server. The early files are evicted,
    // while the folder index (a key of its own) may still list them.
    const careless = open(url, [], { allowEviction: true, prefix: fs.prefix });
    const chunk = new Uint8Array(100_000).fill(7);
    const names = Array.from({ length: 200 }, (_, i) => `t/i/events/${String(i + 1).padStart(12, '0')}.batch`);
    for (const name of names) await careless.create(name, chunk);
    const missing: string[] = [];
    for (const name of names) if ((await careless.read(name)) === undefined) missing.push(name);
    expect(missing.length).toBeGreaterThan(0);
    const listed = await collect(careless.list('t/i/events/'));
    console.info(`eviction: ${missing.length} of 200 files gone, ${listed.length} still listed`);
  });

  it('tells from the settings alone what can be lost', () => {
    expect(persistenceWarning('no', '')).toMatch(/nothing on disk/);
    expect(persistenceWarning('no', '3600 1')).toMatch(/only RDB snapshots/);
    expect(persistenceWarning('yes', '', 'everysec')).toMatch(/about the last second/);
    expect(persistenceWarning('yes', '', 'no')).toMatch(/not yet flushed/);
    expect(persistenceWarning('yes', '', 'always')).toBeUndefined();
    expect(persistenceWarning('yes', '')).toBeUndefined();
    expect(persistenceWarning(undefined, undefined)).toBeUndefined();
    expect(evictionWarning('allkeys-lfu', '1000')).toMatch(/allkeys-lfu/);
    expect(evictionWarning('allkeys-random', '0')).toBeUndefined();
    expect(evictionWarning('volatile-ttl', '1000')).toBeUndefined();
    expect(evictionWarning('noeviction', '1000')).toBeUndefined();
    expect(evictionWarning(undefined, undefined)).toBeUndefined();
  });
});
