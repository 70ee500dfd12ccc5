import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ErrorCode, type FileSystem, isEvsrcError, Repository, type StorageError } from '@evsrc/core';
import { batchPath } from '@evsrc/core/internals';
import { type ServerControl, startAzurite, startRedis, startS3 } from '@evsrc/test-servers';
import { describe, expect, it } from 'vitest';
import { auditStore } from './support/audit.js';
import { s3Spec, servers } from './support/backends.js';
import { Ledger, ledgerType } from './support/domain.mjs';
import { sleep } from './support/random.js';
import { closeStore, openStore, type StoreSpec } from './support/stores.mjs';

/** A private server of one backend, with the client settings that bound each call. */
interface FaultyServer {
  readonly spec: StoreSpec;
  readonly control: ServerControl;
  stop(): Promise<void>;
}

interface Backend {
  readonly name: string;
  readonly skip: string | undefined;
  /** The client settings that bound a call to a dead or hung server, as configured here. */
  readonly settings: string;
  /** The longest a failing repository call may take with those settings (what the test asserts). */
  readonly limitMs: number;
  /** How the server is stopped: SIGKILL where the server keeps its data through a crash. */
  readonly signal: NodeJS.Signals;
  start(): Promise<FaultyServer>;
}

const folders: string[] = [];
const tempFolder = async (name: string) => {
  const folder = await mkdtemp(join(tmpdir(), name));
  folders.push(folder);
  return folder;
};
/** The server, or an error when it is missing (the global setup found it, so it is not). */
function started<T extends object>(server: T): Exclude<T, { readonly skip: string }> {
  if ('skip' in server) throw new Error(String(server.skip));
  return server as Exclude<T, { readonly skip: string }>;
}

const backends: Backend[] = [
  {
    name: 'Redis',
    skip: servers.skipped.redis,
    settings: 'ioredis commandTimeout 1000 ms, maxRetriesPerRequest 1, connectTimeout 1000 ms',
    limitMs: 2_000,
    // Every write is in the append-only file, flushed, before Redis answers: a crash loses nothing.
    signal: 'SIGKILL',
    async start() {
      const dir = await tempFolder('evsrc-fault-redis-');
      const args = ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
      const server = started(await startRedis({ args }));
      const redisOptions = {
        commandTimeout: 1_000,
        maxRetriesPerRequest: 1,
        connectTimeout: 1_000,
        retryStrategy: (times: number) => Math.min(times * 50, 500),
      };
      return { ...server, spec: { kind: 'redis', url: server.url, prefix: 'faults:', redisOptions } };
    },
  },
  {
    name: 'Azure (Azurite)',
    skip: servers.skipped.azure,
    // The SDK's own tryTimeoutInMs only asks the service to give up: against a hung server a
    // call waits for ever. The adapter's operationTimeoutMs aborts the call, retries included.
    settings: 'operationTimeoutMs 2000; retryOptions { maxTries: 2, retryDelayInMs: 100, maxRetryDelayInMs: 200 }',
    limitMs: 3_000,
    // Azurite writes its metadata to disk every 5 s and when it shuts down: stopped cleanly,
    // it keeps everything; a SIGKILL would lose the last seconds (Azurite's own limit).
    signal: 'SIGTERM',
    async start() {
      const location = await tempFolder('evsrc-fault-azurite-');
      const server = started(await startAzurite({ location }));
      const retryOptions = { maxTries: 2, retryDelayInMs: 100, maxRetryDelayInMs: 200 };
      const spec = {
        kind: 'azure',
        connectionString: server.connectionString,
        container: 'faults',
        prefix: 'store',
        retryOptions,
        operationTimeoutMs: 2_000,
      } as const;
      return { ...server, spec };
    },
  },
  {
    name: 'S3 (radosgw)',
    skip: servers.skipped.s3,
    settings:
      'requestHandler { connectionTimeout: 1000, requestTimeout: 1000, throwOnRequestTimeout: true }, maxAttempts 2',
    limitMs: 3_000,
    // Only the gateway dies; the monitor and the OSD keep the data.
    signal: 'SIGKILL',
    async start() {
      const server = started(await startS3('evsrc-faults'));
      const requestHandler = { connectionTimeout: 1_000, requestTimeout: 1_000, throwOnRequestTimeout: true };
      return {
        control: server.control,
        stop: server.stop,
        spec: { ...s3Spec(server, 'faults'), maxAttempts: 2, requestHandler },
      };
    },
  },
];

/** One failed repository call: how long it took, and what it threw. */
interface Failure {
  readonly ms: number;
  readonly error: unknown;
  readonly endedAt: number;
}

/** Polls `done` every 20 ms; fails after `timeoutMs` saying what it waited for. */
async function until(what: string, done: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Saves one event at a time to its own aggregate. A failed save is retried, as it is (same
 * pending events, same commit id), until it lands; only then is it acknowledged.
 */
class Writer {
  readonly acked: string[] = [];
  readonly failures: Failure[] = [];
  /** Failed saves whose batch was found stored before the retry (a call that timed out but landed). */
  landedDespiteError = 0;
  readonly done: Promise<void>;
  readonly #ackTimes: number[] = [];
  #stop = false;
  #abandon = false;

  constructor(
    readonly repository: Repository,
    readonly id: string,
  ) {
    this.done = this.#run();
  }

  /** Stops after the save in progress has landed. */
  stop(): Promise<void> {
    this.#stop = true;
    return this.done;
  }

  /** Stops now, even in the middle of retrying a save (when a test fails). */
  abandon(): void {
    this.#stop = true;
    this.#abandon = true;
  }

  acksAfter(time: number, acks: number): boolean {
    return this.acked.length >= acks && (this.#ackTimes.at(-acks) ?? 0) > time;
  }

  failedAfter(time: number): boolean {
    return this.failures.some((f) => f.endedAt > time);
  }

  async #run(): Promise<void> {
    const ledger = new Ledger(this.id);
    for (let n = 0; !this.#stop; n++) {
      const tag = `${this.id}-${n}`;
      ledger.record(tag);
      if (!(await this.#saveUntilStored(ledger))) return;
      this.acked.push(tag);
      this.#ackTimes.push(Date.now());
      await sleep(10);
    }
  }

  /** Saves, retrying the same save after each failure; `false` if abandoned first. */
  async #saveUntilStored(ledger: Ledger): Promise<boolean> {
    const path = batchPath('ledger', this.id, ledger.storedVersion + 1);
    let landed = false;
    for (;;) {
      const start = performance.now();
      try {
        await this.repository.save(ledger);
        return true;
      } catch (error) {
        this.failures.push({ ms: performance.now() - start, error, endedAt: Date.now() });
        if (this.#abandon) return false;
        await sleep(50);
        const stored = await this.repository.fileSystem.read(path).catch(() => undefined);
        if (stored !== undefined && !landed) {
          landed = true;
          this.landedDespiteError++;
        }
      }
    }
  }
}

/** Loads an aggregate over and over, keeping the failures. */
class Reader {
  readonly failures: Failure[] = [];
  loads = 0;
  #stop = false;
  readonly done: Promise<void>;

  constructor(
    readonly repository: Repository,
    readonly id: string,
  ) {
    this.done = this.#run();
  }

  stop(): Promise<void> {
    this.#stop = true;
    return this.done;
  }

  async #run(): Promise<void> {
    while (!this.#stop) {
      const start = performance.now();
      try {
        await this.repository.find(Ledger, this.id);
        this.loads++;
      } catch (error) {
        this.failures.push({ ms: performance.now() - start, error, endedAt: Date.now() });
      }
      await sleep(50);
    }
  }
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
};

for (const backend of backends) describeFaults(backend);

function describeFaults(backend: Backend): void {
  if (backend.skip) {
    describe.skip(`${backend.name} stopped in the middle of work: ${backend.skip}`, () => undefined);
    return;
  }
  describe(`${backend.name} stopped in the middle of work`, () => {
    it('fails each call within the client time-outs with a StorageError naming the file, then resumes with nothing lost', async () => {
      const server = await backend.start();
      let fileSystem: FileSystem | undefined;
      let checker: FileSystem | undefined;
      let writers: Writer[] = [];
      const readers: Reader[] = [];
      try {
        fileSystem = openStore(server.spec);
        const background: string[] = [];
        const repository = new Repository({
          fileSystem,
          aggregates: [ledgerType(5)],
          onError: (error, context) => background.push(`${context.operation}: ${error}`),
        });
        writers = ['w0', 'w1', 'w2'].map((id) => new Writer(repository, `fault-${id}`));
        const reader = new Reader(repository, 'fault-w0');
        readers.push(reader);
        const allWriters = (check: (w: Writer) => boolean) => () => writers.every(check);

        await until(
          'first saves',
          allWriters((w) => w.acked.length >= 3),
        );
        // 1. A hung server (SIGSTOP): connections stay open, nothing answers; only time-outs end the calls.
        const frozenAt = Date.now();
        server.control.freeze();
        await until(
          'failures while frozen',
          () => writers.every((w) => w.failedAfter(frozenAt)) && reader.failures.some((f) => f.endedAt > frozenAt),
          10 * backend.limitMs,
        );
        server.control.thaw();
        const thawedAt = Date.now();
        await until(
          'saves after the thaw',
          allWriters((w) => w.acksAfter(thawedAt, 3)),
        );

        // 2. A dead server: stopped, down for a second, started again on the same port and data.
        const killedAt = Date.now();
        await server.control.kill(backend.signal);
        await until(
          'failures while down',
          () => writers.every((w) => w.failedAfter(killedAt)) && reader.failures.some((f) => f.endedAt > killedAt),
          10 * backend.limitMs,
        );
        await sleep(1_000);
        await server.control.restart();
        const restartedAt = Date.now();
        await until(
          'saves after the restart',
          allWriters((w) => w.acksAfter(restartedAt, 3)),
        );
        await Promise.all([...writers.map((w) => w.stop()), reader.stop()]);

        // Every failure was a StorageError naming the file, within the limit the settings give.
        const failures = [...writers.flatMap((w) => w.failures), ...reader.failures];
        for (const { error } of failures) {
          expect(isEvsrcError(error, ErrorCode.Storage), String(error)).toBe(true);
          expect((error as StorageError).path).toMatch(/^ledger\/fault-w\d\//);
        }
        const slowest = Math.max(...failures.map((f) => f.ms));
        expect(slowest, `the slowest failing call (${backend.settings})`).toBeLessThanOrEqual(backend.limitMs);

        // Nothing lost, nothing twice: each stream is exactly the acknowledged saves, in order,
        // read back by a fresh client.
        checker = openStore({ ...server.spec, ...noTimeouts });
        const audit = await auditStore(checker);
        expect(audit.problems).toEqual([]);
        for (const w of writers) expect(audit.tags.get(w.id), w.id).toEqual(w.acked);

        const hung = failures.filter((f) => f.endedAt > frozenAt && f.endedAt <= killedAt);
        const dead = failures.filter((f) => f.endedAt > killedAt);
        const ms = (values: readonly Failure[]) =>
          `median ${percentile(
            values.map((f) => f.ms),
            0.5,
          ).toFixed(0)} ms, max ${Math.max(...values.map((f) => f.ms)).toFixed(0)} ms`;
        console.info(
          `${backend.name} faults (${backend.settings}): ${failures.length} failed calls, all StorageError naming the ` +
            `file, none slower than ${slowest.toFixed(0)} ms (limit ${backend.limitMs} ms). Hung (SIGSTOP): ` +
            `${hung.length} failures, ${ms(hung)}; stopped (${backend.signal}): ${dead.length} failures, ${ms(dead)}. ` +
            `${writers.reduce((n, w) => n + w.acked.length, 0)} acknowledged saves all present after the restart, ` +
            `${writers.reduce((n, w) => n + w.landedDespiteError, 0)} failed saves had landed and were ` +
            `recognised on retry; ${reader.loads} loads; ${background.length} background snapshot failures.`,
        );
      } finally {
        for (const w of writers) w.abandon();
        for (const r of readers) void r.stop();
        if (server.control.running) server.control.thaw();
        else await server.control.restart().catch(() => undefined);
        // Closing may wait for the server (a Redis QUIT): never longer than a few seconds.
        const closing = Promise.all([fileSystem, checker].map((fs) => (fs ? closeStore(fs) : undefined)));
        await Promise.race([closing.catch(() => undefined), sleep(5_000)]);
        await server.stop();
        await Promise.all(folders.splice(0).map((f) => rm(f, { recursive: true, force: true })));
      }
    });
  });
}

/** The checker reads with the clients' defaults. */
const noTimeouts = {
  redisOptions: undefined,
  retryOptions: undefined,
  operationTimeoutMs: undefined,
  requestHandler: undefined,
  maxAttempts: undefined,
};
