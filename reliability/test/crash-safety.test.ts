import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMPORARY_FOLDER } from '@evsrc/fs-local';
import { afterAll, describe, expect, it } from 'vitest';
import { type Ack, acksOf, auditStore, missingAcks } from './support/audit.js';
import { childScript, killAtRandom, spawnNode } from './support/child.js';
import { envInt, seeded } from './support/random.js';
import { openStore } from './support/stores.mjs';

/** Kills per run: 25 by default (CI); the long run sets e.g. EVSRC_CRASH_KILLS=200. */
const KILLS = envInt('EVSRC_CRASH_KILLS', 25);
/** Replays a run: the seed is printed at the end of each. */
const SEED = envInt('EVSRC_CRASH_SEED', 1 + Math.floor(Math.random() * 2 ** 31));
const WRITER = childScript('crash-writer.mjs');

/** The temporary files left in the store's reserved folder. */
async function temporaryFiles(root: string): Promise<string[]> {
  return readdir(join(root, TEMPORARY_FOLDER)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}

/**
 * When to kill: now and then during start-up and recovery, usually after a random number
 * of acknowledged saves plus a few ms, when several saves are in flight.
 */
const MOMENT = { early: 0.15, maxAcks: 12, maxDelayMs: 4 };

describe('a writer killed with SIGKILL at random moments (local disk, durable)', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  it(`shows no partial file and loses no acknowledged save over ${KILLS} kills`, {
    timeout: Math.max(600_000, KILLS * 5_000),
  }, async () => {
    const started = Date.now();
    const root = await mkdtemp(join(tmpdir(), 'evsrc-crash-'));
    roots.push(root);
    const spec = { kind: 'local', root } as const;
    const fileSystem = openStore(spec); // only reads: reading never removes temporary files
    const random = seeded(SEED);
    const acks: Ack[] = [];
    let leftBehind = new Set<string>();
    const stats = { killedBeforeAnyAck: 0, killsLeavingTemporaryFiles: 0, temporaryFilesRemoved: 0 };

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

      // Every listed file reads fully and decodes, versions are contiguous, snapshots agree,
      // nothing from the temporary folder is listed, and every acknowledged save is there.
      const audit = await auditStore(fileSystem);
      expect(audit.problems, context).toEqual([]);
      expect(missingAcks(acks, audit.tags), context).toEqual([]);

      // Temporary files of a dead writer are removed by the next one, before its first write.
      const now = await temporaryFiles(root);
      if (mine.length > 0) {
        expect(
          now.filter((name) => leftBehind.has(name)),
          `${context}: temporary files of earlier writers still there`,
        ).toEqual([]);
        stats.temporaryFilesRemoved += leftBehind.size;
        leftBehind = new Set();
      }
      const fresh = now.filter((name) => !leftBehind.has(name));
      if (fresh.length > 0) stats.killsLeavingTemporaryFiles++;
      for (const name of fresh) leftBehind.add(name);
    }

    // A last writer that runs to its end: it finds the store sound, removes every leftover
    // temporary file, and its saves land like the others.
    const last = spawnNode(WRITER, [JSON.stringify(spec), 'last', '1', '3']);
    const { code } = await last.exit;
    expect(code, last.stderr()).toBe(0);
    acks.push(...acksOf(last));
    stats.temporaryFilesRemoved += leftBehind.size;
    expect(await temporaryFiles(root)).toEqual([]);
    const audit = await auditStore(fileSystem);
    expect(audit.problems).toEqual([]);
    expect(missingAcks(acks, audit.tags)).toEqual([]);

    // The kills did hit writes in progress (not only idle moments).
    expect(acks.length).toBeGreaterThan(KILLS);
    if (KILLS >= 20) expect(stats.killsLeavingTemporaryFiles).toBeGreaterThan(0);
    const events = [...audit.tags.values()].reduce((n, t) => n + t.length, 0);
    console.info(
      `crash safety: ${KILLS} SIGKILLs survived (seed ${SEED}) in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `${acks.length} acknowledged saves checked after every kill (${events} events, ${audit.batches} batches, ` +
        `${audit.snapshots} snapshots); ${stats.killedBeforeAnyAck} kills before the writer's first ack; ` +
        `${stats.killsLeavingTemporaryFiles} kills left temporary files (mid-write), ` +
        `${stats.temporaryFilesRemoved} of them removed by the next writer, none ever listed`,
    );
  });
});
