import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, type EvsrcError, type FeedBatch, isEvsrcError, Repository } from '@evsrc/core';
import { findHead, formatCheckpoint, logFolder, parseVector, partitionOf } from '@evsrc/core/internals';
import { RedisFileSystem, type RedisFileSystemOptions } from '@evsrc/fs-redis';
import { hasCommand, missing, type ServerControl, startRedis } from '@evsrc/test-servers';
import { describe, expect, it } from 'vitest';
import { auditStore } from './support/audit.js';
import { digestOf, Ledger, ledgerType } from './support/domain.mjs';
import { FEED_LAYOUT, feedProblems, type LogContents, readFeed, readLog, turnFeedOn } from './support/feed-audit.js';
import { envInt, seeded, sleep } from './support/random.js';

/**
 * A Redis that loses acknowledged writes (issue 15). The server runs with `appendonly yes`
 * and `appendfsync everysec`: a crash of its host loses what was written to the append-only
 * file since the last fsync, up to about a second (more while an fsync is slow: Redis then
 * holds writes back from the file). A SIGKILL of the process alone seldom loses anything
 * (what Redis wrote survives in the OS cache), so the test plays the host crash: it notes
 * the file's length, lets the writers go on for 0.3–1 s, kills the server with SIGKILL,
 * cuts the file back to the noted length (what the disk held), and starts the server again
 * on the same port and folder. Everything acknowledged since is gone.
 *
 * Writers keep saving with the aggregates they hold in memory, and a feed reader follows
 * the log. What must hold:
 *
 * 1. No aggregate is left unloadable by a write past a hole: after the run every aggregate
 *    loads, with and without snapshots, and holds exactly what its writer believes stored;
 *    a writer whose aggregate lost versions learns it from a typed `EVSRC_STREAM_INTEGRITY`
 *    on its next save (it then reloads, and the reloaded state is a prefix of what it had
 *    acknowledged); `evsrc verify` finds nothing wrong with the store.
 * 2. The feed stays whole: each log's positions 1..n with none missing, and the feed read from the
 *    start is exactly the store's batches.
 * 3. A feed reader that had read a lost log position fails with a typed error (not a
 *    StorageError) instead of reading on and silently skipping what was logged there again;
 *    a reader that never read a lost position reads a prefix of each log of the final feed,
 *    and no error.
 *
 * The feed has the layout of `EVSRC_FEED_PARTITIONS` (default 8 logs; `legacy`: one): the
 * positions above are each partition's, and the crashes cut every log.
 */
const LAYOUT = FEED_LAYOUT;
/** Where a partition's place in a checkpoint is: `"{partition}/{position}:{index}:{entry id}"`. */
const placeKey = (partition: number, checkpoint: string): string =>
  `${partition}/${formatCheckpoint(parseVector(checkpoint, LAYOUT)[partition] ?? { position: 0, index: 0 })}`;
/** Each log's head (index: partition). */
const headsOf = (fs: RedisFileSystem): Promise<number[]> =>
  Promise.all(Array.from({ length: LAYOUT.partitions }, (_, p) => findHead(fs, logFolder(LAYOUT, p))));

const RESTARTS = envInt('EVSRC_REDIS_LOSS_RESTARTS', 3);
const WRITERS = 6;
const SNAPSHOT_EVERY = 5;
const CLI = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

/** ioredis settings that end a call to a dead server within about a second (as in the server-fault test). */
const redisOptions = {
  commandTimeout: 1_000,
  maxRetriesPerRequest: 1,
  connectTimeout: 1_000,
  retryStrategy: (times: number) => Math.min(times * 50, 500),
};

/** Saves one event at a time to its own ledger, keeping the object between saves, as an application does. */
class Writer {
  /** The tags the writer believes stored, in version order. */
  acked: string[] = [];
  /** Saves refused with EVSRC_STREAM_INTEGRITY (the aggregate had lost versions), each with the versions lost. */
  readonly integrity: { at: number; lost: number; message: string }[] = [];
  /** Anything else that stopped the writer. */
  readonly unexpected: string[] = [];
  storageFailures = 0;
  /**
   * Once armed ({@link parkAfterNextRefusal}), the version just before the first save refused
   * after that: the writer saves up to it again, then stops there (`parked`).
   */
  parkAt: number | undefined;
  parked = false;
  readonly done: Promise<void>;
  #stop = false;
  #abandon = false;
  #armed = false;

  constructor(
    readonly repository: Repository,
    readonly id: string,
  ) {
    this.done = this.#run().catch((error) => {
      this.unexpected.push(`${this.id}: ${explain(error)}`);
    });
  }

  /** Stops after the save in progress has landed. */
  stop(): Promise<void> {
    this.#stop = true;
    return this.done;
  }

  /**
   * After its next refused save (versions V + 1… refused, the store having lost some of
   * 1..V), the writer reloads, saves until its aggregate is at version V again, and stops:
   * the refused save's log entry names V as the batch it follows, and V now exists again.
   */
  parkAfterNextRefusal(): void {
    this.#armed = true;
  }

  /** Stops now, even in the middle of retrying a save (when the test ends early). */
  abandon(): void {
    this.#stop = true;
    this.#abandon = true;
  }

  async #run(): Promise<void> {
    let ledger: Ledger | undefined = new Ledger(this.id);
    for (let n = 0; ledger && !this.#stop && !this.parked; n++) {
      ledger = await this.#save(ledger, `${this.id}-${n}`);
      if (ledger && this.parkAt !== undefined && ledger.storedVersion >= this.parkAt) this.parked = true;
      await sleep(5);
    }
  }

  /** Saves one more event; the ledger to go on with (reloaded after a refusal), `undefined` when abandoned. */
  async #save(ledger: Ledger, tag: string): Promise<Ledger | undefined> {
    ledger.record(tag);
    const error = await this.#saveThroughOutages(ledger);
    if (error === undefined) {
      this.acked.push(tag);
      return ledger;
    }
    if (error === null) return undefined;
    // Only a refusal to save past lost versions is expected: reload and go on from what is stored.
    if (!isEvsrcError(error, ErrorCode.StreamIntegrity)) throw error;
    if (this.#armed && this.parkAt === undefined) this.parkAt = ledger.storedVersion;
    return this.#reload(String(error));
  }

  /**
   * Saves, retrying the same save (same commit id) while the server is down or calls time
   * out. Resolves `undefined` once saved, the error of any other failure, `null` when abandoned.
   */
  async #saveThroughOutages(ledger: Ledger): Promise<unknown> {
    for (;;) {
      try {
        await this.repository.save(ledger);
        return undefined;
      } catch (error) {
        if (!isEvsrcError(error, ErrorCode.Storage)) return error;
        if (this.#abandon) return null;
        this.storageFailures++;
        await sleep(50);
      }
    }
  }

  async #reload(message: string): Promise<Ledger> {
    for (;;) {
      try {
        const ledger = await this.repository.get(Ledger, this.id);
        const kept = this.acked.slice(0, ledger.count);
        if (ledger.count > this.acked.length || ledger.digest !== digestOf(kept)) {
          this.unexpected.push(
            `${this.id}: reloaded after EVSRC_STREAM_INTEGRITY, it holds ${ledger.count} events that are not the ` +
              `first ${ledger.count} of the ${this.acked.length} acknowledged`,
          );
        }
        this.integrity.push({ at: Date.now(), lost: this.acked.length - ledger.count, message });
        this.acked = kept;
        return ledger;
      } catch (error) {
        if (!isEvsrcError(error, ErrorCode.Storage)) throw error;
        await sleep(50);
      }
    }
  }
}

/** One batch as the follower read it. */
interface Seen {
  readonly checkpoint: string;
  /** Its partition, its position in that partition's log, and its place there (`"p/P:i:id"`, see {@link placeKey}). */
  readonly partition: number;
  readonly position: number;
  readonly place: string;
  readonly id: string;
  readonly first: number;
  readonly commit: string;
}

/** Follows the feed from the start, resuming from its last checkpoint after storage failures. */
class Follower {
  readonly seen: Seen[] = [];
  /** The error that stopped it (anything but a StorageError, which it rides out). */
  failure: unknown;
  readonly done: Promise<void>;
  readonly #abort = new AbortController();

  constructor(readonly repository: Repository) {
    this.done = this.#run();
  }

  /** The highest position of each partition's log it has read a batch from (index: partition). */
  readonly positions: number[] = Array.from({ length: LAYOUT.partitions }, () => 0);

  stop(): Promise<void> {
    this.#abort.abort();
    return this.done;
  }

  async #run(): Promise<void> {
    const { signal } = this.#abort;
    while (!signal.aborted) {
      try {
        const from = this.seen.at(-1)?.checkpoint;
        for await (const b of this.repository.feed.watch({ signal, pollIntervalMs: 50, ...(from ? { from } : {}) })) {
          const position = (parseVector(b.checkpoint, LAYOUT)[b.partition] ?? { position: 0 }).position;
          this.positions[b.partition] = position;
          this.seen.push({
            checkpoint: b.checkpoint,
            partition: b.partition,
            position,
            place: placeKey(b.partition, b.checkpoint),
            id: b.aggregateId,
            first: b.firstVersion,
            commit: b.commit,
          });
        }
      } catch (error) {
        if (signal.aborted) return;
        if (isEvsrcError(error, ErrorCode.Storage)) {
          await sleep(100);
          continue;
        }
        this.failure = error;
        return;
      }
    }
  }
}

/** What one host crash did. */
interface Crash {
  /** Bytes of the append-only file cut off. */
  readonly cutBytes: number;
  /** Each log's head just after the file's length was noted: every position after it was lost. */
  readonly headAtCut: readonly number[];
  /** The highest position of each log the follower had read when the server died. */
  readonly followerAt: readonly number[];
  /** From noting the length to the kill. */
  readonly windowMs: number;
}

/** Everything one run works with. */
interface Run {
  readonly dir: string;
  readonly control: ServerControl;
  readonly writers: readonly Writer[];
  readonly follower: Follower;
  /** Finds the log's head for the test. */
  readonly probe: RedisFileSystem;
  /** Reads the store at the end, with the client's default settings. */
  readonly checker: RedisFileSystem;
  /** Opens one more client (for readers that need their own). */
  open(): RedisFileSystem;
  /** The store's URL, for `evsrc verify`. */
  readonly url: string;
}

function explain(error: unknown): string {
  if (isEvsrcError(error)) return `${(error as EvsrcError).code}: ${(error as Error).message}`;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Polls `done` every 20 ms; false after `timeoutMs`. */
async function until(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

const acksOf = (writers: readonly Writer[]) => writers.reduce((n, w) => n + w.acked.length, 0);

/** The append-only file Redis appends to now (the newest `*.incr.aof` of `appendonlydir`). */
async function appendedFile(dir: string): Promise<string> {
  const folder = join(dir, 'appendonlydir');
  const seq = (name: string) => Number(/\.(\d+)\.incr\.aof$/.exec(name)?.[1] ?? -1);
  const names = (await readdir(folder)).filter((n) => seq(n) >= 0).sort((a, b) => seq(a) - seq(b));
  const last = names.at(-1);
  if (!last) throw new Error(`no incremental append-only file in ${folder}`);
  return join(folder, last);
}

/**
 * A crash of the server's host: notes the append-only file's length (what the disk holds),
 * lets the writers go on for `windowMs` and until the follower has read past that point,
 * kills the server, cuts the file back, and starts the server again on the same port and folder.
 */
async function crashHost(run: Run, windowMs: number): Promise<Crash> {
  const file = await appendedFile(run.dir);
  const { size } = await stat(file);
  // Positions after this head were logged after the length was noted: they will be lost.
  // (With everysec Redis may even hold writes back from the file while an fsync runs, so
  // more can be lost: what a real crash would lose too.)
  const headAtCut = await headsOf(run.probe);
  const cutAt = Date.now();
  const { follower } = run;
  // The follower has read two positions past the cut in some log.
  const passed = () =>
    follower.positions.some((at, p) => at > (headAtCut[p] as number) + 1) || follower.failure !== undefined;
  await until(() => passed() && Date.now() - cutAt >= windowMs, 3_000);
  const followerAt = [...follower.positions];
  await run.control.kill('SIGKILL');
  const cutBytes = (await stat(file)).size - size;
  await truncate(file, size);
  await sleep(100);
  await run.control.restart();
  return { cutBytes, headAtCut, followerAt, windowMs: Date.now() - cutAt };
}

/** Runs `evsrc verify` (the built CLI) on the store. */
function verify(url: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'verify', url], { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

/** The writer's ledger loads, with and without snapshots, and holds exactly what the writer believes stored. */
async function loadProblems(loader: Repository, w: Writer): Promise<string[]> {
  const problems: string[] = [];
  for (const snapshots of [true, false]) {
    const how = `${w.id} (snapshots ${snapshots ? 'on' : 'off'})`;
    try {
      const ledger = await loader.get(Ledger, w.id, { snapshots });
      if (ledger.count === w.acked.length && ledger.digest === digestOf(w.acked)) continue;
      problems.push(
        `${how} loads ${ledger.count} events (version ${ledger.version}); its writer believes ${w.acked.length} stored`,
      );
      if (w.parked && ledger.version === (w.parkAt ?? 0) + 1) {
        problems.push(
          `${how}: the save refused with EVSRC_STREAM_INTEGRITY at version ${ledger.version} was completed later ` +
            `from the log (a roll-forward onto version ${w.parkAt}, which had been lost and written again)`,
        );
      }
    } catch (error) {
      problems.push(`${how} cannot be loaded: ${explain(error)}`);
    }
  }
  return problems;
}

/** 1 and 2: every aggregate loads and holds what its writer believes stored; verify finds nothing; the feed is the store. */
async function storeProblems(run: Run): Promise<{ problems: string[]; log: LogContents; feed: FeedBatch[] }> {
  const problems = run.writers.flatMap((w) => w.unexpected);
  // A new reader first, as after a restart of the application: it completes what was logged.
  const feed = await readFeed(() => run.open());
  const audit = await auditStore(run.checker);
  problems.push(
    ...firstOf(
      audit.problems.map((p) => `store: ${p}`),
      (p) => /ledger\/(w\d+)\//.exec(p)?.[1] ?? p,
    ),
  );
  const loader = new Repository({ fileSystem: run.checker, aggregates: [ledgerType(SNAPSHOT_EVERY)] });
  for (const w of run.writers) problems.push(...(await loadProblems(loader, w)));
  const checked = await verify(run.url);
  if (checked.code !== 0) {
    const lines = checked.out.trim().split('\n');
    const shown = lines.length > 12 ? [...lines.slice(0, 10), `… ${lines.length - 11} lines …`, lines.at(-1)] : lines;
    problems.push(`evsrc verify exits with ${checked.code}:\n${shown.join('\n')}`);
  }
  const log = await readLog(run.checker);
  problems.push(...log.problems.map((p) => `log: ${p}`));
  problems.push(
    ...firstOf(
      feedProblems(feed, audit).map((p) => `feed: ${p}`),
      (p) => /ledger\/(w\d+)/.exec(p)?.[1] ?? p,
    ),
  );
  return { problems, log, feed };
}

/** 3: a follower that read a lost position must have failed with a typed error; otherwise it agrees with the feed. */
function followerProblems(follower: Follower, feed: readonly FeedBatch[]): string[] {
  const problems: string[] = [];
  // What the follower read and the final feed does not hold at that place of its log came
  // from a log entry that was lost (the position now holds another entry, or the same save
  // logged again: a place that names the entry's id then differs).
  const final = feed.map((b) => ({ batch: b, place: placeKey(b.partition, b.checkpoint) }));
  const finalPlaces = new Set(final.map(({ batch, place }) => `${place} ${batch.commit}`));
  const stale = follower.seen.filter((s) => !finalPlaces.has(`${s.place} ${s.commit}`));
  const { failure } = follower;
  const firstStale = stale.length > 0 ? follower.seen.indexOf(stale[0] as Seen) : follower.seen.length;
  // Before the first stale batch, the follower read a prefix of each log of the final feed
  // (a watcher may interleave the logs' growing tails otherwise than a read at the end).
  for (let p = 0; p < LAYOUT.partitions; p++) {
    const read = follower.seen.slice(0, firstStale).filter((s) => s.partition === p);
    const there = final.filter(({ batch }) => batch.partition === p);
    const differs = read.findIndex((s, i) => there[i]?.place !== s.place || there[i]?.batch.commit !== s.commit);
    if (differs < 0) continue;
    const seen = read[differs] as Seen;
    const other = there[differs]?.batch;
    problems.push(
      `before any lost position, the follower did not read what the final feed holds in partition ${p}: its ` +
        `batch ${differs} there is ${seen.checkpoint} ${seen.id} v${seen.first}, the feed's ` +
        `${other ? describeBatch(other) : '(none)'}`,
    );
  }
  if (stale.length === 0) {
    problems.push('the follower never read a lost log position: the attack did not reach it, nothing was shown');
    if (failure !== undefined) problems.push(`the follower failed: ${explain(failure)}`);
    return problems;
  }
  if (isEvsrcError(failure) && !isEvsrcError(failure, ErrorCode.Storage)) return problems;
  const lostAt = new Set(stale.map((s) => `${s.partition}/${s.position}`));
  const seenCommits = new Set(follower.seen.map((s) => s.commit));
  const skipped = final
    .filter(({ batch, place }) => lostAt.has(place.replace(/:.*$/, '')) && !seenCommits.has(batch.commit))
    .map(({ batch }) => batch);
  const lastStale = stale.at(-1) as Seen;
  const readAfter = follower.seen.length - 1 - follower.seen.indexOf(lastStale);
  problems.push(
    `the follower read ${stale.length} batches (log places ${stale[0]?.place}..${lastStale.place}) that the ` +
      'final feed does not hold at their places (their entries were lost, or the positions taken again), then ' +
      `${failure === undefined ? 'read on silently' : `stopped with ${explain(failure)}`}: ` +
      `${readAfter} batches read after them; ${skipped.length} batches of the final feed logged at those positions ` +
      `never seen (e.g. ${skipped.slice(0, 3).map(describeBatch).join('; ')})`,
  );
  return problems;
}

/** The first two problems of each kind (`kindOf`), then how many more there are of it. */
function firstOf(problems: readonly string[], kindOf: (p: string) => string): string[] {
  const counts = new Map<string, number>();
  const out: string[] = [];
  for (const p of problems) {
    const kind = kindOf(p);
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    if (n <= 2) out.push(p);
  }
  for (const [kind, n] of counts) if (n > 2) out.push(`… and ${n - 2} more like these about ${kind}`);
  return out;
}

function describeBatch(b: FeedBatch): string {
  return `${b.checkpoint} ${b.aggregateId} v${b.firstVersion}..${b.lastVersion}`;
}

/**
 * The attack: {@link RESTARTS} host crashes while the writers work (the first writer parks
 * after a save refused after the last one); then the writers go on until the log is past
 * every position the follower had read, and stop. Returns the crashes; adds to `problems`.
 */
async function attack(run: Run, random: () => number, problems: string[]): Promise<Crash[]> {
  const { writers, follower } = run;
  const parking = writers[0] as Writer;
  const crashes: Crash[] = [];
  for (let crash = 0; crash < RESTARTS; crash++) {
    // The last crash also leaves a refused save's log entry behind (see parkAfterNextRefusal).
    if (crash === RESTARTS - 1) parking.parkAfterNextRefusal();
    const before = acksOf(writers);
    if (!(await until(() => acksOf(writers) >= before + 4 * WRITERS, 20_000)))
      problems.push(`crash ${crash}: no progress`);
    crashes.push(await crashHost(run, 300 + Math.floor(random() * 700)));
  }
  // A follower that has not noticed a re-taken position would now read on past it: each log
  // the follower read grows past what it had read (but the parking writer's, when no other
  // writer shares it: that one may stop for good).
  const target = Array.from(
    { length: LAYOUT.partitions },
    (_, p) => Math.max(...crashes.map((c) => c.followerAt[p] ?? 0)) + 2,
  );
  const partitionOfWriter = (w: Writer) => partitionOf('ledger', w.id, LAYOUT.partitions);
  const live = new Set(writers.filter((w) => w !== parking).map(partitionOfWriter));
  const waited = target.flatMap((t, p) => (live.has(p) && t > 2 ? [p] : []));
  const grown = async () => {
    if (follower.failure !== undefined) return true;
    const heads = await headsOf(run.probe);
    return waited.every((p) => (heads[p] as number) > (target[p] as number));
  };
  if (!(await until(grown, 20_000))) {
    const where = waited.map((p) => `${p}: ${target[p]}`).join(', ');
    problems.push(`the logs did not grow past the positions (partition: position) ${where} after the last restart`);
  }
  if (!(await until(() => parking.parked, 10_000))) {
    const why = parking.parkAt === undefined ? 'no save of it was refused' : `it never got back to ${parking.parkAt}`;
    problems.push(`${parking.id} was to stop at the version before a save refused after the last crash, but ${why}`);
  }
  const after = acksOf(writers);
  await until(() => acksOf(writers) >= after + 2 * WRITERS, 10_000);
  await Promise.all(writers.map((w) => w.stop()));
  await sleep(300); // the follower catches up with the last saves
  await follower.stop();
  return crashes;
}

/** One line on what the run did. */
function summary(run: Run, crashes: readonly Crash[], log: LogContents): string {
  const { writers, follower } = run;
  const parking = writers[0] as Writer;
  const integrity = writers.flatMap((w) => w.integrity);
  const cuts = crashes.map(
    (c) =>
      `${c.cutBytes} B after ${c.windowMs} ms (heads ${c.headAtCut.join('/')}, follower at ${c.followerAt.join('/')})`,
  );
  return (
    `${RESTARTS} host crashes, append-only file cut by ${cuts.join(', ')}. ` +
    `${acksOf(writers)} saves believed stored, ${writers.reduce((n, w) => n + w.storageFailures, 0)} storage ` +
    `failures retried, ${integrity.length} saves refused with EVSRC_STREAM_INTEGRITY ` +
    `(${integrity.reduce((n, i) => n + i.lost, 0)} acknowledged versions found lost); ${log.entries} log ` +
    `entries in ${LAYOUT.legacy ? 'one log (legacy layout)' : `${LAYOUT.partitions} partitions`}; the follower read ${follower.seen.length} batches and ended with ` +
    `${follower.failure === undefined ? 'nothing' : explain(follower.failure)}; ${parking.id} ` +
    `${parking.parked ? `stopped at version ${parking.parkAt}, before its refused save` : 'did not park'}.`
  );
}

// A private server: needed whatever shared servers the global setup started (under CI, missing fails the run).
const skip = hasCommand('redis-server')
  ? undefined
  : missing('redis-server', 'sudo apt-get install redis-server (or: bash scripts/install-test-servers.sh)');
describe.skipIf(skip !== undefined)(
  `a Redis that loses its last second (appendfsync everysec)${skip ? `: ${skip}` : ''}`,
  () => {
    it(`leaves no aggregate unloadable and no feed reader silently skipping, over ${RESTARTS} host crashes`, async () => {
      const seed = envInt('EVSRC_CRASH_SEED', Math.floor(Math.random() * 2 ** 31));
      const random = seeded(seed);
      const dir = await mkdtemp(join(tmpdir(), 'evsrc-redis-loss-'));
      // No rewrite of the append-only file during the run: the file to cut stays the same.
      const args = ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir];
      const server = await startRedis({ args: [...args, '--auto-aof-rewrite-percentage', '0'] });
      if ('skip' in server) throw new Error(server.skip);
      const prefix = 'loss:';
      const warnings: string[] = [];
      const clients: RedisFileSystem[] = [];
      const open = (options: Partial<RedisFileSystemOptions> = {}) => {
        const onWarning = (m: string) => warnings.push(m);
        const fs = new RedisFileSystem({ url: server.url, prefix, redisOptions, onWarning, ...options });
        clients.push(fs);
        return fs;
      };
      const aggregates = [ledgerType(SNAPSHOT_EVERY)];
      // The writers (feed: true) keep the layout the store's feed was turned on with.
      await turnFeedOn(open());
      const repositories = [open(), open()].map((fileSystem) => new Repository({ fileSystem, aggregates, feed: true }));
      const run: Run = {
        dir,
        control: server.control,
        writers: Array.from({ length: WRITERS }, (_, w) => new Writer(repositories[w % 2] as Repository, `w${w}`)),
        follower: new Follower(new Repository({ fileSystem: open(), aggregates })),
        probe: open(),
        checker: open({ redisOptions: {} }),
        open: () => open({ redisOptions: {} }),
        url: `${server.url}?prefix=${encodeURIComponent(prefix)}`,
      };
      const { writers, follower } = run;
      const problems: string[] = [];
      const crashes: Crash[] = [];
      try {
        crashes.push(...(await attack(run, random, problems)));

        const store = await storeProblems(run);
        problems.push(...store.problems, ...followerProblems(follower, store.feed));
        // The adapter warned about the setting that loses the last second.
        if (!warnings.some((w) => /appendfsync everysec/.test(w)))
          problems.push('no warning about appendfsync everysec');

        console.info(`redis-loss (seed ${seed}): ${summary(run, crashes, store.log)}`);
        expect(problems).toEqual([]);
      } finally {
        for (const w of writers) w.abandon();
        await follower.stop();
        const closing = Promise.all(clients.map((fs) => fs.close().catch(() => undefined)));
        await Promise.race([closing, sleep(5_000)]);
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
);
