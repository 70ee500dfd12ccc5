import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeedBatch, FileSystem } from '@evsrc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type Ack, acksOf, auditStore, missingAcks } from './support/audit.js';
import { childScript, killAtRandom, spawnNode } from './support/child.js';
import {
  ackProblems,
  FEED_LAYOUT,
  feedProblems,
  partitionLines,
  placeOf,
  readerProblems,
  readFeed,
  readLog,
  repositoryProblems,
  tagsOf,
  turnFeedOn,
} from './support/feed-audit.js';
import { envInt, seeded } from './support/random.js';
import { openStore } from './support/stores.mjs';

/** Kills per run: 20 by default (CI); the long run sets e.g. EVSRC_CRASH_KILLS=200. */
const KILLS = envInt('EVSRC_CRASH_KILLS', 20);
/** Replays a run: the seed is printed at the end of each. */
const SEED = envInt('EVSRC_CRASH_SEED', 1 + Math.floor(Math.random() * 2 ** 31));
const WRITER = childScript('feed-writer.mjs');

/** The batch files of the store (listed, not read). */
async function batchFiles(fileSystem: FileSystem): Promise<Set<string>> {
  const paths = new Set<string>();
  for await (const path of fileSystem.list('')) if (path.endsWith('.batch')) paths.add(path);
  return paths;
}

/**
 * When to kill: now and then during start-up, usually after a random number of
 * acknowledged saves plus up to 3 ms, when the eight loops have several saves in flight,
 * some of them logged and not yet stored.
 */
const MOMENT = { early: 0.1, maxAcks: 25, maxDelayMs: 3 };

describe('the change feed, with its writer killed with SIGKILL at random moments (local disk, durable)', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  it(`feed: every acknowledged save exactly once, and the feed is the store, over ${KILLS} kills`, {
    timeout: Math.max(600_000, KILLS * 10_000),
  }, async () => {
    const started = Date.now();
    const root = await mkdtemp(join(tmpdir(), 'evsrc-feed-crash-'));
    roots.push(root);
    const spec = { kind: 'local', root } as const;
    const open = () => openStore(spec);
    const fileSystem = open();
    // The writers (feed: true) keep the layout the store's feed was turned on with.
    await turnFeedOn(fileSystem);
    const random = seeded(SEED);
    const acks: Ack[] = [];
    /** The previous audit's feed, each log's batches as lines, and its last checkpoint. */
    let previous: { logs: string[][]; last: string | undefined } = { logs: [], last: undefined };
    const stats = { killedBeforeAnyAck: 0, rolledForward: 0, killsRolledForward: 0, auditMs: 0 };

    /**
     * After a writer has ended: a new reader reads the whole feed (completing the batches
     * the writer logged and did not store), then the feed is checked against the store,
     * the log, the acknowledgements and other readers.
     */
    const audit = async (context: string) => {
      const at = Date.now();
      const before = await batchFiles(fileSystem);
      const feed = await readFeed(open);
      const store = await auditStore(fileSystem);
      const rolled = store.batchFiles.filter((f) => !before.has(f.path));
      const acknowledged = new Set(acks.flatMap((a) => a.tags));
      const log = await readLog(fileSystem);
      const inFeed = new Set(feed.map((b) => placeOf(b, store.feedLayout)));
      const logs = partitionLines(feed, store.feedLayout);
      // Batches logged after the previous audit, by partition: what a reader resuming from its last checkpoint must see.
      const resumed = partitionLines(
        await readFeed(open, previous.last === undefined ? {} : { from: previous.last }),
        store.feedLayout,
      );
      expect(
        {
          layout: store.feedLayout,
          // Every file decodes, versions run 1..n, snapshots and Repository.get agree, every ack is stored.
          store: [...store.problems, ...missingAcks(acks, store.tags)],
          // (a) every acknowledged save is in the feed once, with its versions and events.
          acknowledgedSaves: ackProblems(acks, feed),
          // (b) the batch files are exactly the feed's batches; (c) each aggregate's come as versions 1..n, in order.
          feedVersusStore: feedProblems(feed, store),
          // The log has no gap, and with one writer at a time every batch it logged is in the feed.
          log: [
            ...log.problems,
            ...log.logged
              .filter((l) => !inFeed.has(l.checkpoint))
              .map((l) => `logged at ${l.checkpoint} (${l.id} v${l.first}) but not in the feed`),
          ],
          // A batch the reader completed was never acknowledged (its writer died before storing it).
          rolledForwardButAcknowledged: rolled
            .filter((f) => f.tags.some((t) => acknowledged.has(t)))
            .map((f) => f.path),
          // What an earlier reader saw is never changed: each log only grows at its end (the merge
          // of K logs may place new batches among old ones), and a reader resuming from the
          // earlier reader's last checkpoint sees exactly what each log gained since.
          earlierFeedChanged: logs.flatMap((lines, p) => {
            const before = previous.logs[p] ?? [];
            const grown = lines.slice(0, before.length).join('\n') === before.join('\n');
            const rest = lines.slice(before.length).join('\n') === (resumed[p] ?? []).join('\n');
            return [
              ...(grown ? [] : [`${context}: partition ${p}'s earlier batches changed`]),
              ...(rest
                ? []
                : [`${context}: resuming from ${previous.last} does not yield partition ${p}'s new batches`]),
            ];
          }),
          // (d) two more readers see the same sequence; a reader resuming from a checkpoint sees the rest.
          readers: await readerProblems(open, feed, Math.floor(random() * (feed.length + 1))),
          // (e) Repository.get agrees with the feed's last version of each aggregate.
          repository: await repositoryProblems(fileSystem, feed),
        },
        context,
      ).toEqual({
        layout: FEED_LAYOUT,
        store: [],
        acknowledgedSaves: [],
        feedVersusStore: [],
        log: [],
        rolledForwardButAcknowledged: [],
        earlierFeedChanged: [],
        readers: [],
        repository: [],
      });
      previous = { logs, last: feed.at(-1)?.checkpoint ?? previous.last };
      stats.rolledForward += rolled.length;
      if (rolled.length > 0) stats.killsRolledForward++;
      stats.auditMs += Date.now() - at;
      return { feed, store, log };
    };

    for (let k = 0; k < KILLS; k++) {
      const child = spawnNode(WRITER, [JSON.stringify(spec), String(k), String(Math.floor(random() * 2 ** 32))]);
      await killAtRandom(child, random, MOMENT);
      const { code, signal } = await child.exit;
      const context = `kill ${k + 1} of ${KILLS} (seed ${SEED})`;
      expect(signal, `${context}: the writer ended by itself (${code}): ${child.stderr()}`).toBe('SIGKILL');
      expect(child.stderr(), context).toBe('');
      const mine = acksOf(child);
      acks.push(...mine);
      if (mine.length === 0) stats.killedBeforeAnyAck++;
      await audit(context);
    }

    // A last writer that runs to its end, on the store the kills left: its saves land after
    // the completed ones, and the feed still agrees with everything.
    const last = spawnNode(WRITER, [JSON.stringify(spec), 'last', '1', '3']);
    const { code } = await last.exit;
    expect(code, last.stderr()).toBe(0);
    acks.push(...acksOf(last));
    const { feed, store, log } = await audit(`after the last writer (seed ${SEED})`);

    // The kills hit saves in progress, and some between a batch's log entry and its file.
    expect(acks.length).toBeGreaterThan(KILLS);
    if (KILLS >= 20) expect(stats.rolledForward).toBeGreaterThan(0);
    const events = feed.reduce((n, b: FeedBatch) => n + tagsOf(b).length, 0);
    console.info(
      `feed crash safety: ${KILLS} SIGKILLs (seed ${SEED}) in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(audits ${(stats.auditMs / 1000).toFixed(1)} s); ${acks.length} acknowledged saves, each found once in the ` +
        `feed after every kill; the feed: ${feed.length} batches (${events} events) in ${log.entries} log entries ` +
        `of ${FEED_LAYOUT.legacy ? 'one log (legacy layout)' : `${FEED_LAYOUT.partitions} partitions`} ` +
        `(${log.grouped} with several batches), ` +
        `= the ${store.batches} batch files; ${stats.rolledForward} batches completed from the log by the reader ` +
        `after ${stats.killsRolledForward} of the kills; ${stats.killedBeforeAnyAck} kills before the writer's first ack`,
    );
  });
});
