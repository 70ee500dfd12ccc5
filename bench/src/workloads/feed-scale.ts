/**
 * `--feed-scale` (issue 17): what the change feed costs as writer processes are added.
 * With the feed on, every save of every process first appends to the store's feed, whose
 * positions are taken with create-if-absent, so processes contend for them. For each
 * backend and each P: P writer processes start together (each signals ready, the parent
 * says go), each runs `loops` save loops on its own aggregates, one event per save, for
 * `seconds`; the feed off, then on (rounds interleaved: off, on, off, on…), each run on a
 * fresh store. Afterwards the parent counts the store's files, log entries and bytes.
 *
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { FileSystem } from '@evsrc/core';
import { compactFeed } from '@evsrc/core/internals';
import { machineInfo } from '../results.js';
import {
  PROXY_DELAY_MS,
  type ScaleBackend,
  type ScaleBackendName,
  type ScaleStore,
  type StoreSpec,
  startScaleBackend,
  storeStats,
} from './feed-scale-stores.js';
import { type ChildMessage, type ChildSettings, Writer, type WriterReport } from './feed-scale-writers.js';

/** The settings of a `--feed-scale` run. */
export interface FeedScaleSettings {
  readonly backends: readonly ScaleBackendName[];
  readonly processes: readonly number[];
  readonly seconds: number;
  readonly loops: number;
  /** `--partitions=K`: the feed's number of logs; undefined: `feed: true` (its default). */
  readonly partitions: number | undefined;
  readonly rounds: number;
  /** Local disk flushes (fsync). */
  readonly durable: boolean;
}

/** One run: one backend, P processes, the feed off or on, one round, on a fresh store. */
export interface ScaleRun {
  readonly backend: ScaleBackendName;
  readonly processes: number;
  readonly feed: 'off' | 'on';
  readonly round: number;
  /** os.loadavg() (1, 5, 15 minutes) when the run started. */
  readonly loadAverage: readonly number[];
  /** Measured saves of all processes. */
  readonly saves?: number;
  /** Σ over processes of its saves / its time. */
  readonly savesPerSecond?: number;
  /** Measured and warm-up saves: what is in the store. */
  readonly storedSaves?: number;
  readonly perProcess?: readonly WriterReport[];
  readonly files?: number;
  readonly bytes?: number;
  /** Log entries (`.evsrc/feed/**.entry`) in the store after the run. */
  readonly entries?: number;
  /** Bytes in the store after `feed.compact()` (feed on). */
  readonly compactedBytes?: number;
  readonly error?: string;
}

/** One line of a backend's table: P processes, feed off and on (medians over the rounds). */
export interface ScaleRow {
  readonly backend: ScaleBackendName;
  readonly processes: number;
  readonly offSavesPerSecond?: number;
  readonly onSavesPerSecond?: number;
  /** Saves/s with the feed on / off (1.00: free; 0.50: half as many saves). */
  readonly ratio?: number;
  /** Log entries / stored saves with the feed on (below 1: group commit). */
  readonly entriesPerSave?: number;
  /** Bytes in the store / stored saves. */
  readonly offBytesPerSave?: number;
  readonly onBytesPerSave?: number;
  readonly bytesRatio?: number;
  /** Bytes in the store / stored saves with the feed on, after compaction, and that over the feed off. */
  readonly compactedBytesPerSave?: number;
  readonly compactedRatio?: number;
  readonly errors?: readonly string[];
}

export interface FeedScaleResults {
  readonly startedAt: string;
  durationS: number;
  readonly machine: Record<string, string | number>;
  readonly settings: FeedScaleSettings & { readonly proxyDelayMs: number };
  readonly method: Record<string, string>;
  readonly backends: Partial<Record<ScaleBackendName, string>>;
  readonly skipped: { backend: ScaleBackendName; reason: string }[];
  readonly runs: ScaleRun[];
  readonly rows: ScaleRow[];
  readonly errors: string[];
}

export const FEED_SCALE_METHOD: Record<string, string> = {
  processes:
    'P separate Node processes (memory: P writer groups, one Repository each, in the one process, which cannot share its store), each with its own client; each warms up (one save per loop), signals ready, and all start on the parent’s go.',
  saves:
    'each process runs `loops` concurrent loops, each on its own aggregate, one event (~150 bytes as JSON) per save, until `seconds` are over; saves/s = Σ over processes of saves / (time from go to its last save).',
  feed: 'off (feed: false), then on (feed: true, or { partitions: K } with --partitions), interleaved per round, each run on a fresh store; repository defaults otherwise.',
  'entries / save':
    'log entries (.entry files under .evsrc/feed/, listed after the feed-on run) / saves in the store (warm-up included).',
  'bytes / save':
    'the sum of the sizes of every file in the store after the run (listed, then read) / saves in the store.',
};

const log = (line: string) => process.stderr.write(`${line}\n`);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const median = (values: number[]) => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const CHILD = fileURLToPath(new URL('../feed-scale-child.js', import.meta.url));
/** How long a child may take to start and warm up (radosgw's first requests are slow). */
const READY_TIMEOUT_MS = 120_000;

/** A forked writer and its next message. */
class Child {
  readonly process: ChildProcess;
  readonly #queue: ChildMessage[] = [];
  readonly #waiting: ((m: ChildMessage) => void)[] = [];

  constructor(spec: StoreSpec, settings: ChildSettings) {
    this.process = fork(CHILD, [JSON.stringify(spec), JSON.stringify(settings)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // The AWS SDK's Node 20 notice, printed once by the parent already, not once per writer.
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    this.process.on('message', (m: ChildMessage) => this.#deliver(m));
    this.process.on('exit', (code, signal) =>
      this.#deliver({ type: 'error', message: `writer ${settings.process} exited (${signal ?? code})` }),
    );
    this.process.on('error', (error) => this.#deliver({ type: 'error', message: error.message }));
  }

  #deliver(m: ChildMessage): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(m);
    else this.#queue.push(m);
  }

  /** The next message, or an error message after `ms`. */
  next(ms: number): Promise<ChildMessage> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(done), 1);
        resolve({ type: 'error', message: `writer sent nothing for ${ms} ms` });
      }, ms);
      const done = (m: ChildMessage) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.#waiting.push(done);
    });
  }

  /** Waits up to `ms` for the child to exit by itself (it closes its client first), then kills it. */
  async end(ms: number): Promise<void> {
    const running = () => this.process.exitCode === null && this.process.signalCode === null;
    if (!running()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.process.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (running()) this.process.kill();
  }
}

const expect = (m: ChildMessage, type: 'ready' | 'done'): ChildMessage => {
  if (m.type === 'error') throw new Error(m.message);
  if (m.type !== type) throw new Error(`writer sent ${m.type}, expected ${type}`);
  return m;
};

/** P writer processes on `spec`, started together. */
async function writeInProcesses(spec: StoreSpec, p: number, settings: FeedScaleSettings, on: boolean) {
  const feed = { on, ...(settings.partitions === undefined ? {} : { partitions: settings.partitions }) };
  const children = Array.from(
    { length: p },
    (_, i) => new Child(spec, { process: i, loops: settings.loops, seconds: settings.seconds, feed }),
  );
  try {
    // The barrier: every writer is ready before any starts.
    await Promise.all(children.map(async (c) => expect(await c.next(READY_TIMEOUT_MS), 'ready')));
    for (const c of children) c.process.send('go');
    const doneWithin = settings.seconds * 1000 + 60_000;
    return await Promise.all(
      children.map(async (c) => {
        const m = expect(await c.next(doneWithin), 'done');
        return (m as Extract<ChildMessage, { type: 'done' }>).report;
      }),
    );
  } catch (error) {
    await Promise.all(children.map((c) => c.end(0)));
    throw error;
  } finally {
    await Promise.all(children.map((c) => c.end(5_000)));
  }
}

/** Memory: P writer groups, one Repository each, in this process, on one store. */
async function writeInGroups(fileSystem: FileSystem, p: number, settings: FeedScaleSettings, on: boolean) {
  const feed = { on, ...(settings.partitions === undefined ? {} : { partitions: settings.partitions }) };
  const writers = Array.from(
    { length: p },
    (_, i) => new Writer(fileSystem, { process: i, loops: settings.loops, seconds: settings.seconds, feed }),
  );
  const warmUps = await Promise.all(writers.map((w) => w.warmUp()));
  return Promise.all(writers.map((w, i) => w.run(settings.seconds, warmUps[i] as number)));
}

let runs = 0;

async function oneRun(
  backend: ScaleBackend,
  p: number,
  on: boolean,
  round: number,
  settings: FeedScaleSettings,
  runId: string,
): Promise<ScaleRun> {
  const feed = on ? 'on' : 'off';
  const loadAverage = loadavg().map((l) => Math.round(l * 100) / 100);
  log(`  P=${p} feed ${feed.padEnd(3)} round ${round}: load average ${loadAverage.join(' ')}`);
  const base = { backend: backend.name, processes: p, feed, round, loadAverage } as const;
  let store: ScaleStore | undefined;
  try {
    store = await backend.store(`${runId}-${++runs}-p${p}-${feed}`);
    const reports = store.spec
      ? await writeInProcesses(store.spec, p, settings, on)
      : await writeInGroups(store.inspect, p, settings, on);
    const saves = reports.reduce((n, r) => n + r.saves, 0);
    const storedSaves = saves + reports.reduce((n, r) => n + r.warmUpSaves, 0);
    const savesPerSecond = reports.reduce((n, r) => n + (r.saves / r.ms) * 1000, 0);
    const stats = await storeStats(store.inspect);
    if (on && stats.entries === 0) throw new Error('the feed was on but wrote no log entries');
    // What the store holds once its log is compacted (writers compact only a chunk behind each head).
    let compactedBytes: number | undefined;
    if (on) {
      await compactFeed(store.inspect);
      compactedBytes = (await storeStats(store.inspect)).bytes;
    }
    return {
      ...base,
      saves,
      savesPerSecond,
      storedSaves,
      perProcess: reports,
      ...stats,
      ...(compactedBytes === undefined ? {} : { compactedBytes }),
    };
  } catch (error) {
    return { ...base, error: message(error) };
  } finally {
    await store?.drop().catch(() => undefined);
  }
}

function rowOf(backend: ScaleBackendName, p: number, runs: ScaleRun[]): ScaleRow {
  const mine = runs.filter((r) => r.backend === backend && r.processes === p);
  const ok = (feed: 'off' | 'on') => mine.filter((r) => r.feed === feed && r.error === undefined);
  const rate = (feed: 'off' | 'on') => median(ok(feed).map((r) => r.savesPerSecond as number));
  const perSave = (feed: 'off' | 'on', of: (r: ScaleRun) => number) =>
    median(ok(feed).map((r) => of(r) / (r.storedSaves as number)));
  const off = rate('off');
  const on = rate('on');
  const offBytes = perSave('off', (r) => r.bytes as number);
  const onBytes = perSave('on', (r) => r.bytes as number);
  const compacted = perSave('on', (r) => r.compactedBytes as number);
  const errors = mine.filter((r) => r.error).map((r) => `feed ${r.feed} round ${r.round}: ${r.error}`);
  return {
    backend,
    processes: p,
    ...(off === undefined ? {} : { offSavesPerSecond: off }),
    ...(on === undefined ? {} : { onSavesPerSecond: on }),
    ...(off && on ? { ratio: on / off } : {}),
    ...(on === undefined ? {} : { entriesPerSave: perSave('on', (r) => r.entries as number) }),
    ...(offBytes === undefined ? {} : { offBytesPerSave: offBytes }),
    ...(onBytes === undefined ? {} : { onBytesPerSave: onBytes }),
    ...(offBytes && onBytes ? { bytesRatio: onBytes / offBytes } : {}),
    ...(compacted === undefined ? {} : { compactedBytesPerSave: compacted }),
    ...(offBytes && compacted ? { compactedRatio: compacted / offBytes } : {}),
    ...(errors.length ? { errors } : {}),
  };
}

const int = (n: number | undefined) => (n === undefined ? '—' : Math.round(n).toLocaleString('en-US'));
const fixed = (n: number | undefined, digits = 2) => (n === undefined ? '—' : n.toFixed(digits));

/** The Markdown table of one backend. */
export function scaleTable(results: FeedScaleResults, backend: ScaleBackendName): string {
  const head = [
    'P',
    'saves/s feed off',
    'saves/s feed on',
    'on/off',
    'log entries / save',
    'bytes / save off',
    'bytes / save on',
    'bytes on/off',
    'bytes / save on, compacted',
    'compacted on/off',
  ];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const rows = results.rows
    .filter((r) => r.backend === backend)
    .map(
      (r) =>
        line([
          String(r.processes),
          int(r.offSavesPerSecond),
          int(r.onSavesPerSecond),
          fixed(r.ratio),
          fixed(r.entriesPerSave, 3),
          int(r.offBytesPerSave),
          int(r.onBytesPerSave),
          fixed(r.bytesRatio),
          int(r.compactedBytesPerSave),
          fixed(r.compactedRatio),
        ]) + (r.errors ? `\n\n**failed** (P=${r.processes}): ${r.errors.join('; ')}\n` : ''),
    );
  return [line(head), line(head.map(() => '---')), ...rows].join('\n');
}

export function scaleReport(results: FeedScaleResults): string {
  const s = results.settings;
  const out = [
    `## Change feed against writer processes (--feed-scale)\n`,
    `${s.seconds} s per run, ${s.loops} save loops per process, one event per save, ${s.rounds} round(s) of feed off then on, ` +
      `feed ${s.partitions === undefined ? 'true (default partitions)' : `{ partitions: ${s.partitions} }`}; ` +
      `machine: ${results.machine.cpus} × ${results.machine.cpu}, ${results.machine.node}.\n`,
  ];
  for (const [backend, description] of Object.entries(results.backends)) {
    out.push(`### ${backend}\n\n${description}\n\n${scaleTable(results, backend as ScaleBackendName)}\n`);
  }
  for (const s of results.skipped) out.push(`### ${s.backend}\n\nskipped: ${s.reason}\n`);
  return `${out.join('\n')}\n`;
}

function progress(run: ScaleRun, results: FeedScaleResults): void {
  if (run.error) {
    log(`    FAILED ${run.error}`);
    results.errors.push(`${run.backend} P=${run.processes} feed ${run.feed} round ${run.round}: ${run.error}`);
    return;
  }
  const entries = run.feed === 'on' ? `, ${int(run.entries)} log entries` : '';
  log(
    `    ${int(run.savesPerSecond)} saves/s (${int(run.saves)} saves), ${int(run.files)} files, ${int(run.bytes)} bytes${entries}`,
  );
}

/** Every P on one backend: rounds of feed off, then on, each on a fresh store. */
async function runBackend(
  name: ScaleBackendName,
  settings: FeedScaleSettings,
  results: FeedScaleResults,
  runId: string,
): Promise<void> {
  let started: ScaleBackend | { skip: string };
  try {
    started = await startScaleBackend(name, settings.durable);
  } catch (error) {
    results.errors.push(`${name}: could not start: ${message(error)}`);
    return;
  }
  if ('skip' in started) {
    results.skipped.push({ backend: name, reason: started.skip });
    return;
  }
  const backend = started;
  results.backends[name] = backend.description;
  // Ctrl-C: stop the servers, then exit as Node would have (a listener replaces its default exit).
  const stop = () => void backend.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    log(`${name} / feed scale`);
    for (const p of settings.processes) {
      for (let round = 1; round <= settings.rounds; round++) {
        for (const on of [false, true]) {
          const run = await oneRun(backend, p, on, round, settings, runId);
          results.runs.push(run);
          progress(run, results);
        }
      }
      results.rows.push(rowOf(name, p, results.runs));
    }
  } finally {
    process.removeListener('SIGINT', stop);
    await backend.stop();
  }
}

/** Runs every backend and P of `settings`; the caller prints and writes the results. */
export async function feedScale(settings: FeedScaleSettings): Promise<FeedScaleResults> {
  const began = performance.now();
  const results: FeedScaleResults = {
    startedAt: new Date().toISOString(),
    durationS: 0,
    machine: machineInfo(),
    settings: { ...settings, proxyDelayMs: PROXY_DELAY_MS },
    method: FEED_SCALE_METHOD,
    backends: {},
    skipped: [],
    runs: [],
    rows: [],
    errors: [],
  };
  const runId = `scale-${Date.now().toString(36)}`;
  for (const name of settings.backends) await runBackend(name, settings, results, runId);
  results.durationS = (performance.now() - began) / 1000;
  return results;
}
