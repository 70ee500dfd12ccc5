import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeedBatch } from '@evsrc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type Ack, acksOf } from './support/audit.js';
import { childScript, killAtRandom, spawnNode } from './support/child.js';
import { FEED_LAYOUT, tagsOf, turnFeedOn } from './support/feed-audit.js';
import { feedCrashAuditor } from './support/feed-crash-audit.js';
import { envInt, seeded } from './support/random.js';
import { openStore } from './support/stores.mjs';

/** Kills per run: 20 by default (CI); the long run sets e.g. EVSRC_CRASH_KILLS=200. */
const KILLS = envInt('EVSRC_CRASH_KILLS', 20);
/** Replays a run: the seed is printed at the end of each. */
const SEED = envInt('EVSRC_CRASH_SEED', 1 + Math.floor(Math.random() * 2 ** 31));
const WRITER = childScript('feed-writer.mjs');

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
    // After each writer: the feed checked against the store, the log, the acks and other readers.
    const { audit, stats: auditStats } = feedCrashAuditor(open, fileSystem, random);
    const stats = { killedBeforeAnyAck: 0 };

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
      await audit(context, acks);
    }

    // A last writer that runs to its end, on the store the kills left: its saves land after
    // the completed ones, and the feed still agrees with everything.
    const last = spawnNode(WRITER, [JSON.stringify(spec), 'last', '1', '3']);
    const { code } = await last.exit;
    expect(code, last.stderr()).toBe(0);
    acks.push(...acksOf(last));
    const { feed, log, batches } = await audit(`after the last writer (seed ${SEED})`, acks);

    // The kills hit saves in progress, and some between a batch's log entry and its file.
    expect(acks.length).toBeGreaterThan(KILLS);
    if (KILLS >= 20) expect(auditStats.rolledForward).toBeGreaterThan(0);
    const events = feed.reduce((n, b: FeedBatch) => n + tagsOf(b).length, 0);
    console.info(
      `feed crash safety: ${KILLS} SIGKILLs (seed ${SEED}) in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(audits ${(auditStats.auditMs / 1000).toFixed(1)} s); ${acks.length} acknowledged saves, each found once in the ` +
        `feed after every kill; the feed: ${feed.length} batches (${events} events) in ${log.entries} log entries ` +
        `of ${FEED_LAYOUT.legacy ? 'one log (legacy layout)' : `${FEED_LAYOUT.partitions} partitions`} ` +
        `(${log.grouped} with several batches), ` +
        `= the ${batches} batch files; ${auditStats.rolledForward} batches completed from the log by the reader ` +
        `after ${auditStats.killsRolledForward} of the kills; ${stats.killedBeforeAnyAck} kills before the writer's first ack`,
    );
  });
});
