import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactFeed } from '@evsrc/core/internals';
import { afterAll, describe, expect, it } from 'vitest';
import { type Ack, acksOf } from './support/audit.js';
import { type Child, childScript, killAtRandom, spawnNode } from './support/child.js';
import { FEED_LAYOUT, tagsOf, turnFeedOn } from './support/feed-audit.js';
import { batchFiles, feedCrashAuditor } from './support/feed-crash-audit.js';
import { finalStateProblems, storedStateProblems } from './support/projection-audit.js';
import { envInt, seeded, sleep } from './support/random.js';
import { openStore } from './support/stores.mjs';

/**
 * SIGKILLs per run, over writers, compactors and consumers together: 20 by default (CI);
 * the long run sets EVSRC_CRASH_KILLS=200 or more.
 */
const KILLS = envInt('EVSRC_CRASH_KILLS', 20);
/** Replays a run: the seed is printed at the end of each. */
const SEED = envInt('EVSRC_CRASH_SEED', 1 + Math.floor(Math.random() * 2 ** 31));
const WRITER = childScript('feed-writer.mjs');
const COMPACTOR = childScript('feed-compactor.mjs');
const CONSUMER = childScript('feed-consumer.mjs');
/** The consumers' lease and poll interval: a dead consumer's partitions are taken over within about 750 ms. */
const LEASE_MS = 500;
const POLL_MS = 20;
/** When to kill the writer (see feed-crash.test.ts). */
const MOMENT = { early: 0.1, maxAcks: 25, maxDelayMs: 3 };
/** Chance that a round also kills the compactor, a consumer (the first two rounds kill one of each). */
const KILL_COMPACTOR = 0.35;
const KILL_CONSUMER = 0.45;

/** The partitions a consumer's "owned <member> <p,p,…>" line names (none for other lines). */
const ownedIn = (line: string): number[] => {
  const [word, , list] = line.split(' ');
  return word === 'owned' && list ? list.split(',').map(Number) : [];
};

describe('the change feed with writers, compactors and consumers killed with SIGKILL at random (local disk, durable)', () => {
  const roots: string[] = [];
  const children = new Set<Child>();
  afterAll(async () => {
    for (const child of children) child.process.kill('SIGKILL');
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  it(`feed with a compactor and a shared projection: every acknowledged save exactly once, every partition's state a recount, over ${KILLS} kills`, {
    timeout: Math.max(600_000, KILLS * 10_000),
  }, async () => {
    const started = Date.now();
    const root = await mkdtemp(join(tmpdir(), 'evsrc-feed-consumers-crash-'));
    roots.push(root);
    const spec = { kind: 'local', root } as const;
    const open = () => openStore(spec);
    const fileSystem = open();
    await turnFeedOn(fileSystem);
    const random = seeded(SEED);
    const acks: Ack[] = [];
    const { audit, stats: auditStats } = feedCrashAuditor(open, fileSystem, random);
    const kills = { writer: 0, compactor: 0, consumer: 0 };
    const counts = {
      compactorPasses: 0,
      compactedByCompactors: 0,
      segmentsByCompactors: 0,
      takeovers: 0,
      handovers: 0,
    };
    let instances = 0;

    const start = (script: string, args: string[]): Child => {
      const child = spawnNode(script, args);
      children.add(child);
      void child.exit.then(() => children.delete(child));
      return child;
    };
    const startCompactor = () => start(COMPACTOR, [JSON.stringify(spec), String(Math.floor(random() * 2 ** 32))]);
    const consumerIds = new Map<Child, string>();
    const startConsumer = () => {
      const id = `c${instances++}`;
      const child = start(CONSUMER, [JSON.stringify(spec), id, String(LEASE_MS), String(POLL_MS)]);
      consumerIds.set(child, id);
      return child;
    };

    // Who owns each partition, from the consumers' "owned" lines: a partition that a
    // consumer starts to own while its last owner is dead (killed) was taken over.
    const killed = new Set<string>();
    const owner = new Map<number, string>();
    const read = new Map<Child, number>();
    const follow = () => {
      for (const [child, id] of consumerIds) {
        const lines = child.lines;
        for (const p of lines.slice(read.get(child) ?? 0).flatMap(ownedIn)) {
          const before = owner.get(p);
          if (before !== undefined && before !== id) counts[killed.has(before) ? 'takeovers' : 'handovers']++;
          owner.set(p, id);
        }
        read.set(child, lines.length);
      }
    };
    const following = setInterval(follow, 10);

    /** Kills `child` with SIGKILL; it must not have ended by itself, nor complained. */
    const kill = async (child: Child, what: string, context: string) => {
      child.process.kill('SIGKILL');
      const { code, signal } = await child.exit;
      expect(signal, `${context}: the ${what} ended by itself (${code}): ${child.stderr()}`).toBe('SIGKILL');
      expect(child.stderr(), `${context}: the ${what}`).toBe('');
    };
    const compactedBy = (child: Child) => {
      for (const line of child.lines) {
        const [word, entries, segments] = line.split(' ');
        if (word !== 'compacted') continue;
        counts.compactorPasses++;
        counts.compactedByCompactors += Number(entries);
        counts.segmentsByCompactors += Number(segments);
      }
    };

    let compactor = startCompactor();
    const consumers = [startConsumer(), startConsumer()];
    await Promise.all([compactor, ...consumers].map((c) => c.line((l) => l.startsWith('ready'))));
    let stored = { problems: [] as string[], covered: 0 };

    try {
      for (let round = 0; kills.writer + kills.compactor + kills.consumer < KILLS; round++) {
        const context = `round ${round + 1}, kill ${kills.writer + kills.compactor + kills.consumer + 1} of ${KILLS} (seed ${SEED})`;
        const writer = start(WRITER, [JSON.stringify(spec), String(round), String(Math.floor(random() * 2 ** 32))]);
        const others: Promise<void>[] = [];
        // Now and then, while the writer runs, the compactor or a consumer dies too, and
        // comes back after up to 1.2 s (a consumer's partitions are often taken over meanwhile).
        if (round === 0 || (round > 1 && random() < KILL_COMPACTOR)) {
          const wait = random() * 400;
          const back = random() * 1200;
          others.push(
            (async () => {
              await sleep(wait);
              await kill(compactor, 'compactor', context);
              kills.compactor++;
              compactedBy(compactor);
              await sleep(back);
              compactor = startCompactor();
            })(),
          );
        }
        if (round === 1 || (round > 1 && random() < KILL_CONSUMER)) {
          const which = Math.floor(random() * consumers.length);
          const wait = random() * 600;
          const back = random() * 1200;
          others.push(
            (async () => {
              await sleep(wait);
              const victim = consumers[which] as Child;
              killed.add(consumerIds.get(victim) as string);
              await kill(victim, 'consumer', context);
              kills.consumer++;
              await sleep(back);
              consumers[which] = startConsumer();
            })(),
          );
        }
        await killAtRandom(writer, random, MOMENT);
        const { code, signal } = await writer.exit;
        expect(signal, `${context}: the writer ended by itself (${code}): ${writer.stderr()}`).toBe('SIGKILL');
        expect(writer.stderr(), context).toBe('');
        kills.writer++;
        // The batch files when the writer died: those created since were completed from the
        // log, by the audit's reader or by a consumer.
        const before = await batchFiles(fileSystem);
        acks.push(...acksOf(writer));
        await Promise.all(others);
        const { feed } = await audit(context, acks, before);
        // Each partition's stored state is a recount of its batches up to its stored checkpoint.
        stored = await storedStateProblems(fileSystem, feed, FEED_LAYOUT);
        expect(stored.problems, context).toEqual([]);
      }

      // A last writer that runs to its end, the compactor and consumers still running.
      const last = start(WRITER, [JSON.stringify(spec), 'last', '1', '3']);
      const { code } = await last.exit;
      expect(code, last.stderr()).toBe(0);
      acks.push(...acksOf(last));
      // The consumers and the compactor stop; one last compaction compacts every decided entry.
      for (const child of [compactor, ...consumers]) child.send('stop');
      for (const child of [compactor, ...consumers]) {
        const ended = await child.exit;
        expect({ ...ended, stderr: child.stderr() }, 'a consumer or the compactor, stopped').toEqual({
          code: 0,
          signal: null,
          stderr: '',
        });
      }
      compactedBy(compactor);
      follow();
    } finally {
      clearInterval(following);
    }
    const lastCompaction = await compactFeed(fileSystem);
    const { feed, log, batches } = await audit(`after the last writer, compacted (seed ${SEED})`, acks);
    // Once stopped: each partition caught up is a recount from scratch of its batches.
    const final = await finalStateProblems(open, feed, FEED_LAYOUT);
    expect(final.problems).toEqual([]);

    expect(acks.length).toBeGreaterThan(kills.writer);
    expect(log.compacted).toBeGreaterThan(0);
    if (KILLS >= 6) {
      expect(kills.compactor).toBeGreaterThan(0);
      expect(kills.consumer).toBeGreaterThan(0);
    }
    const events = feed.reduce((n, b) => n + tagsOf(b).length, 0);
    console.info(
      `feed consumers crash safety: ${KILLS} SIGKILLs (seed ${SEED}): writer ${kills.writer}, compactor ` +
        `${kills.compactor}, consumer ${kills.consumer}; in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(audits ${(auditStats.auditMs / 1000).toFixed(1)} s); ${acks.length} acknowledged saves, each found once ` +
        `in the feed after every writer's kill; the feed: ${feed.length} batches (${events} events) = the ${batches} ` +
        `batch files, in ${log.entries} log entries of ${FEED_LAYOUT.partitions} partitions, ${log.compacted} of ` +
        `them compacted (${log.segments} segments; the compactors emptied ${counts.compactedByCompactors} entries ` +
        `in ${counts.compactorPasses} passes reported, the last compaction ${lastCompaction.entries}); ` +
        `${auditStats.rolledForward} batches completed from the log after ${auditStats.killsRolledForward} of the ` +
        `writer's kills; consumers: ${counts.takeovers} partitions taken over from a killed consumer, ` +
        `${counts.handovers} handed over to a consumer that joined; the stored states covered ${stored.covered} batches ` +
        `at the last kill's audit, the final catch-up handled ${final.caughtUp}; every partition's state = its recount`,
    );
  });
});
