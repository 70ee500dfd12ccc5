import { rm } from 'node:fs/promises';
import { type FeedBatch, InMemoryFileSystem, Repository, SharedProjection } from '@evsrc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { auditStore } from './support/audit.js';
import { sharedStores } from './support/backends.js';
import { type Child, childScript, spawnNode } from './support/child.js';
import { ledgerType } from './support/domain.mjs';
import {
  ackProblems,
  checkpointProblems,
  describeBatch,
  FEED_LAYOUT,
  feedProblems,
  type Opener,
  partitionLines,
  readerProblems,
  readFeed,
  readLog,
  repositoryProblems,
  tagsOf,
  turnFeedOn,
} from './support/feed-audit.js';
import { countsOptions } from './support/feed-projection.mjs';
import { type FeedRaceReport, OWN, runFeedRacer } from './support/feed-race.mjs';
import { finalStateProblems } from './support/projection-audit.js';
import { envInt, seeded, sleep } from './support/random.js';
import { closeStore, openStore, type StoreSpec } from './support/stores.mjs';

/**
 * Processes, and per process saves on each of its own aggregates and commands on the
 * shared one, all at the same time. By default (CI): 4 processes × (3 × 6 saves + 8
 * commands); 4 × (3 × 3 + 4) on Azurite, an emulator that answers in ~100 ms under load.
 */
const PROCESSES = envInt('EVSRC_RACE_PROCESSES', 4);
const SAVES = envInt('EVSRC_FEED_RACE_SAVES', 6);
const COMMANDS = envInt('EVSRC_FEED_RACE_COMMANDS', 8);
const onAzurite = (n: number, spec: StoreSpec | undefined) =>
  spec?.kind === 'azure' && !process.env.EVSRC_FEED_RACE_SAVES && !process.env.EVSRC_FEED_RACE_COMMANDS
    ? Math.ceil(n / 2)
    : n;
const RACER = childScript('feed-racer.mjs');
const CONSUMER = childScript('feed-consumer.mjs');
/**
 * Processes that share one projection (events counted per aggregate) during the race, as
 * a SharedProjection: lease 1 s, polls every 50 ms.
 */
const CONSUMERS = 2;
const CONSUMER_LEASE_MS = 1000;
const CONSUMER_POLL_MS = 50;

/** Starts the consumers of the race, each running the shared projection; resolves once all have joined. */
async function startConsumers(spec: StoreSpec): Promise<Child[]> {
  const consumers = Array.from({ length: CONSUMERS }, (_, c) =>
    spawnNode(CONSUMER, [JSON.stringify(spec), `race-${c}`, String(CONSUMER_LEASE_MS), String(CONSUMER_POLL_MS)]),
  );
  await Promise.all(consumers.map((c) => c.line((l) => l.startsWith('ready'))));
  return consumers;
}

/** Stops the consumers (each stores its partitions' states and releases them); each must end cleanly. */
async function stopConsumers(consumers: readonly Child[]): Promise<number> {
  for (const c of consumers) c.send('stop');
  let owned = 0;
  for (const [n, c] of consumers.entries()) {
    const ended = await c.exit;
    expect({ ...ended, stderr: c.stderr() }, `consumer ${n}`).toEqual({ code: 0, signal: null, stderr: '' });
    owned += c.lines.filter((l) => l.startsWith('owned ')).length;
  }
  return owned;
}

/** Runs the racers against one store, all released at once; returns what each one reports. */
async function race(spec: StoreSpec, saves: number, commands: number): Promise<FeedRaceReport[]> {
  const racers = Array.from({ length: PROCESSES }, (_, p) =>
    spawnNode(RACER, [JSON.stringify(spec), String(p), String(saves), String(commands)]),
  );
  await Promise.all(racers.map((r) => r.line((l) => l === 'ready')));
  for (const r of racers) r.send('go');
  return Promise.all(
    racers.map(async (r, p) => {
      const line = await r.line((l) => l.startsWith('done '));
      const { code } = await r.exit;
      expect(code, `racer ${p}: ${r.stderr()}`).toBe(0);
      return JSON.parse(line.slice('done '.length)) as FeedRaceReport;
    }),
  );
}

/**
 * A reader that watches the feed while the writers work (invariant 4: it must not skip a
 * batch that becomes visible later). `stop(count)`, called once every writer has ended,
 * waits until it has seen `count` batches (at most 10 s), and a few polls more for any
 * batch too many, then ends it and returns what it saw.
 */
function watchFeed(open: Opener) {
  const fileSystem = open();
  const repository = new Repository({ fileSystem, aggregates: [ledgerType(7)] });
  const controller = new AbortController();
  const seen: FeedBatch[] = [];
  let ended = false;
  let stopped: Promise<readonly FeedBatch[]> | undefined;
  const running = (async () => {
    try {
      for await (const batch of repository.feed.watch({ signal: controller.signal, pollIntervalMs: 50 })) {
        seen.push(batch);
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      ended = true;
    }
  })();
  return {
    stop(count: number): Promise<readonly FeedBatch[]> {
      stopped ??= (async () => {
        const deadline = Date.now() + 10_000;
        while (seen.length < count && !ended && Date.now() < deadline) await sleep(10);
        await sleep(200);
        controller.abort();
        await running;
        await closeStore(fileSystem);
        return seen;
      })();
      return stopped;
    },
  };
}

/** Checks the feed after the race: invariants 1 to 4 of the change feed, against the store and the log. */
async function checkFeed(
  open: Opener,
  reports: readonly FeedRaceReport[],
  watcher: ReturnType<typeof watchFeed>,
  random: () => number,
) {
  const fileSystem = open();
  try {
    const feed = await readFeed(open);
    const store = await auditStore(fileSystem);
    const log = await readLog(fileSystem);
    const acks = reports.flatMap((r) => r.acks);
    const failed = new Set(reports.flatMap((r) => r.failedAttempts));
    const acknowledged = new Set(acks.flatMap((a) => a.tags));
    const watched = await watcher.stop(feed.length);
    const layout = store.feedLayout;
    // The watcher read the logs' tails as they grew: the merge may have interleaved them
    // otherwise than a read after the race, but each log's sequence must be the same.
    const expectedLogs = partitionLines(feed, layout);
    const watchedLogs = partitionLines(watched, layout);
    const watcherProblems = [
      ...checkpointProblems(watched, layout, false),
      ...expectedLogs.flatMap((lines, p) => {
        const seen = watchedLogs[p] ?? [];
        return seen.join('\n') === lines.join('\n') ? [] : [`partition ${p}: ${firstDifference(lines, seen)}`];
      }),
    ];
    expect({
      layout,
      // Every file decodes, versions run 1..n, snapshots and Repository.get agree.
      store: store.problems,
      // 1. every acknowledged save is in the feed exactly once, with its versions and events.
      acknowledgedSaves: ackProblems(acks, feed),
      // 2. no run of a command whose save failed (a conflict) is in the feed; nor anything not acknowledged.
      failedSavesInFeed: feed.filter((b) => tagsOf(b).some((t) => failed.has(t))).map(describeBatch),
      notAcknowledged: feed.filter((b) => tagsOf(b).some((t) => !acknowledged.has(t))).map(describeBatch),
      // Each failed save was logged and lost: the log holds the acknowledged batches and the failed ones.
      logged: { batches: log.logged.length, problems: log.problems },
      // The batch files are exactly the feed's batches, each aggregate's as versions 1..n in order.
      feedVersusStore: feedProblems(feed, store),
      // 3. two more readers see the same order; a reader resuming from a checkpoint sees exactly the rest.
      readers: await readerProblems(open, feed, Math.floor(random() * (feed.length + 1))),
      // 4. the reader that watched during the race, from checkpoint to checkpoint, saw the same sequence of each log.
      watcher: watcherProblems,
      repository: await repositoryProblems(fileSystem, feed),
      // The only way a command may fail here: it lost 10 races in a row.
      gaveUpOtherwise: reports.flatMap((r) => r.gaveUp).filter((g) => g.code !== 'EVSRC_RETRIES_EXHAUSTED'),
    }).toEqual({
      layout: FEED_LAYOUT,
      store: [],
      acknowledgedSaves: [],
      failedSavesInFeed: [],
      notAcknowledged: [],
      logged: { batches: acks.length + failed.size, problems: [] },
      feedVersusStore: [],
      readers: [],
      watcher: [],
      repository: [],
      gaveUpOtherwise: [],
    });
    expect(feed).toHaveLength(acks.length);
    // It was a race: saves on the shared aggregate conflicted, and their logged batches stayed out.
    expect(failed.size).toBeGreaterThan(0);
    return {
      feed,
      entries: log.entries,
      grouped: log.grouped,
      acks: acks.length,
      failed: failed.size,
      watched: watched.length,
    };
  } finally {
    await closeStore(fileSystem);
  }
}

function firstDifference(expected: readonly string[], actual: readonly string[]): string {
  const i = expected.findIndex((line, n) => actual[n] !== line);
  const at = i < 0 ? expected.length : i;
  return `the watcher saw ${actual.length} batches, the feed has ${expected.length}; at ${at}: ${actual[at] ?? '(end)'} instead of ${expected[at] ?? '(end)'}`;
}

describe(`the change feed with ${PROCESSES} processes writing at once (own aggregates and a shared one)`, async () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });
  const seed = envInt('EVSRC_CRASH_SEED', 1 + Math.floor(Math.random() * 2 ** 31));

  for (const store of await sharedStores()) {
    if ('skip' in store) {
      describe.skip(`${store.name}: ${store.skip}`, () => undefined);
      continue;
    }
    const saves = onAzurite(SAVES, store.spec);
    const commands = onAzurite(COMMANDS, store.spec);
    it(`feed on ${store.name}: ${PROCESSES} × (${OWN} × ${saves} saves + ${commands} commands); every acknowledged batch once, failed ones never, every reader the same order`, {
      timeout: 600_000,
    }, async () => {
      const { spec } = store;
      if (spec.kind === 'local') roots.push(spec.root);
      const open = () => openStore(spec);
      // The racers (feed: true) keep the layout the store's feed was turned on with.
      const first = open();
      await turnFeedOn(first);
      await closeStore(first);
      const consumers = await startConsumers(spec);
      const started = Date.now();
      const watcher = watchFeed(open);
      let raced = 0;
      let result: Awaited<ReturnType<typeof checkFeed>>;
      let reports: FeedRaceReport[];
      let projection: Awaited<ReturnType<typeof finalStateProblems>>;
      let ownershipChanges: number;
      try {
        reports = await race(spec, saves, commands);
        raced = Date.now() - started;
        result = await checkFeed(open, reports, watcher, seeded(seed));
        // 5. the projection the consumers shared during the race, each partition caught up
        // once they stopped, equals a recount from scratch of that partition's batches.
        ownershipChanges = await stopConsumers(consumers);
        projection = await finalStateProblems(open, result.feed, FEED_LAYOUT);
        expect(projection.problems).toEqual([]);
      } finally {
        await watcher.stop(0);
        for (const c of consumers) c.process.kill('SIGKILL');
      }
      console.info(
        `feed race on ${store.name}: ${PROCESSES} processes × (${OWN} × ${saves} saves + ${commands} commands) in ` +
          `${(raced / 1000).toFixed(1)} s, checked in ${((Date.now() - started - raced) / 1000).toFixed(1)} s: ` +
          `${result.acks} acknowledged batches, each once in the feed (${result.entries} log entries, ` +
          `${result.grouped} of them with several batches); ` +
          `${result.failed} failed saves logged and left out; ` +
          `${reports.reduce((n, r) => n + r.gaveUp.length, 0)} commands gave up after 10 conflicts; ` +
          `a watcher saw the same ${result.watched} batches; ${CONSUMERS} consumers shared a projection ` +
          `(${ownershipChanges} changes of the partitions they owned), each partition = its recount after a ` +
          `catch-up of ${projection.caughtUp} batches (seed ${seed})`,
      );
    });
  }

  // A memory store lives in one process: there the racers are repositories of one process,
  // each with its own feed writer, so that they race for the log's positions like processes.
  it(`feed on memory (one process, ${PROCESSES} repositories): every acknowledged batch once, failed ones never, every reader the same order`, async () => {
    // It has no close(): the checks' clients are all this one store.
    const fileSystem = new InMemoryFileSystem();
    const open = () => fileSystem;
    await turnFeedOn(fileSystem);
    const watcher = watchFeed(open);
    // The shared projection, by two members of this process.
    const stop = new AbortController();
    const members = Array.from({ length: CONSUMERS }, (_, c) => {
      const repository = new Repository({ fileSystem, aggregates: [ledgerType(7)] });
      return new SharedProjection({
        ...countsOptions(repository, fileSystem),
        leaseMs: CONSUMER_LEASE_MS,
        member: `race-${c}`,
      }).run({ signal: stop.signal, pollIntervalMs: CONSUMER_POLL_MS });
    });
    try {
      const reports = await Promise.all(
        Array.from({ length: PROCESSES }, (_, p) =>
          runFeedRacer(
            new Repository({ fileSystem, aggregates: [ledgerType(10)], cache: true, feed: true }),
            p,
            SAVES,
            COMMANDS,
          ),
        ),
      );
      const result = await checkFeed(open, reports, watcher, seeded(seed));
      stop.abort();
      await Promise.all(members);
      const projection = await finalStateProblems(open, result.feed, FEED_LAYOUT);
      expect(projection.problems).toEqual([]);
      console.info(
        `feed race on memory: ${PROCESSES} repositories × (${OWN} × ${SAVES} saves + ${COMMANDS} commands): ` +
          `${result.acks} acknowledged batches in ${result.entries} log entries (${result.grouped} with several ` +
          `batches), ${result.failed} failed saves left out; a watcher saw the same ${result.watched} batches; ` +
          `${CONSUMERS} members shared a projection, each partition = its recount (catch-up of ${projection.caughtUp})`,
      );
    } finally {
      stop.abort();
      await Promise.allSettled(members);
      await watcher.stop(0);
    }
  });
});
