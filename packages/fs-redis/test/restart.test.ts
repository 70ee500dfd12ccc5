import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type EventRecord, isEvsrcError, Repository } from '@evsrc/core';
import { freePort, type RunningProcess, startProcess } from '@evsrc/test-servers';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisFileSystem } from '../src/index.js';
import { Notebook, type Noted, notebookType } from './domain.js';
import { audit, collect, describeRedis, freshPrefix, sleep } from './helpers.js';

const WRITERS = 8;
const SAVES = 30;

describeRedis('a Redis restart in the middle of a run of saves', () => {
  let dir = '';
  let port = 0;
  let server: RunningProcess | undefined;
  // A persistent server: every write is in the append-only file, flushed, before Redis answers.
  const start = async () => {
    const args = ['--bind', '127.0.0.1', '--port', String(port), '--daemonize', 'no', '--save', ''];
    args.push('--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir);
    server = (await startProcess('redis-server', args, { ready: /Ready to accept connections/ })).process;
  };
  const crash = async () => {
    const child = server?.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'evsrc-redis-aof-'));
    port = await freePort();
    await start();
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged save, writes nothing twice and leaves nothing half-written', {
    timeout: 120_000,
  }, async () => {
    const url = `redis://127.0.0.1:${port}`;
    const prefix = freshPrefix();
    const warnings: string[] = [];
    const onWarning = (m: string) => warnings.push(m);
    // One client with ioredis defaults (in-flight commands are sent again after the reconnect),
    // one that fails them fast, so its saves end with an error and are retried by the caller.
    const resending = new RedisFileSystem({ url, prefix, onWarning });
    const failing = new RedisFileSystem({ url, prefix, onWarning, redisOptions: { maxRetriesPerRequest: 1 } });
    expect(await resending.checkPersistence()).toMatchObject({ appendonly: 'yes', appendfsync: 'always' });
    const repos = [resending, failing].map(
      (fileSystem) => new Repository({ fileSystem, aggregates: [notebookType()] }),
    );

    const acknowledged = new Map<string, string[]>();
    let acks = 0;
    let acksAfterRestart = 0;
    let restarted = false;
    let failedSaves = 0;
    const save = async (repo: Repository, book: Notebook, note: string) => {
      book.write(note);
      for (let attempt = 1; ; attempt++) {
        try {
          await repo.save(book);
          break;
        } catch (error) {
          // Only storage failures are expected; the same save is retried with the same commit id.
          if (!isEvsrcError(error, ErrorCode.Storage) || attempt >= 500) throw error;
          failedSaves++;
          await sleep(20);
        }
      }
      acknowledged.get(book.id)?.push(note);
      acks++;
      if (restarted) acksAfterRestart++;
    };
    const writer = async (w: number) => {
      const repo = repos[w % 2] as Repository;
      const book = new Notebook(`book-${w}`);
      acknowledged.set(book.id, []);
      for (let i = 0; i < SAVES; i++) await save(repo, book, `w${w}-${i}`);
    };
    const restart = async () => {
      while (acks < (WRITERS * SAVES) / 4) await sleep(2);
      const beforeCrash = new Map([...acknowledged].map(([id, notes]) => [id, [...notes]]));
      await crash();
      await sleep(100);
      await start();
      restarted = true;
      // Right after the restart, every save acknowledged before the crash is there.
      const checker = new RedisFileSystem({ url, prefix, onWarning });
      try {
        const repo = new Repository({ fileSystem: checker, aggregates: [notebookType()] });
        for (const [id, notes] of beforeCrash) {
          if (notes.length === 0) continue;
          const stored = await repo.get(Notebook, id);
          expect(stored.notes.slice(0, notes.length), id).toEqual(notes);
        }
      } finally {
        await checker.close();
      }
    };
    await Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), restart()]);
    expect(restarted).toBe(true);
    expect(acksAfterRestart).toBeGreaterThan(0);
    await Promise.all([resending.close(), failing.close()]);

    // A fresh client reads everything back.
    const reader = new RedisFileSystem({ url, prefix, onWarning });
    try {
      const repo = new Repository({ fileSystem: reader, aggregates: [notebookType()] });
      for (const [id, notes] of acknowledged) {
        const events: EventRecord[] = [];
        for await (const e of repo.events(Notebook, id)) events.push(e);
        expect(events.map((e) => e.version)).toEqual(notes.map((_, i) => i + 1));
        expect(events.map((e) => (e.event as Noted).note)).toEqual(notes);
      }
      expect(await collect(reader.list(''))).toHaveLength(WRITERS * SAVES);
      expect(await audit(reader.client as Redis, prefix)).toEqual([]);
    } finally {
      await reader.close();
    }
    expect(warnings).toEqual([]);
    console.info(
      `restart test: ${acks} saves, ${failedSaves} failed attempts retried, ${acksAfterRestart} after the restart`,
    );
  });
});
