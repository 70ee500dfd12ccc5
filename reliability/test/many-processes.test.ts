import { rm } from 'node:fs/promises';
import { InMemoryFileSystem, Repository } from '@evsrc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type Audit, auditStore } from './support/audit.js';
import { sharedStores } from './support/backends.js';
import { childScript, spawnNode } from './support/child.js';
import { Ledger, ledgerType } from './support/domain.mjs';
import { envInt } from './support/random.js';
import { closeStore, openStore, type StoreSpec } from './support/stores.mjs';

/**
 * Processes racing on one aggregate, and commands each. By default (CI): 4 × 50, and 4 × 25
 * on Azurite, an emulator that answers in ~100 ms under this load. EVSRC_RACE_COMMANDS=250
 * sets every backend (the full run: 4 × 250).
 */
const PROCESSES = envInt('EVSRC_RACE_PROCESSES', 4);
const COMMANDS = envInt('EVSRC_RACE_COMMANDS', 50);
const commandsOn = (spec: StoreSpec) =>
  process.env.EVSRC_RACE_COMMANDS || spec.kind !== 'azure' ? COMMANDS : Math.min(COMMANDS, 25);
const RACER = childScript('racer.mjs');

/** What a racer reports at its end. */
interface Report {
  /** Tags of the commands that succeeded. */
  readonly ok: string[];
  /** Commands that gave up. */
  readonly failed: { tag: string; code: string; message: string }[];
  /** Runs of a command (a command runs again after each conflict). */
  readonly attempts: number;
  /** Commands that succeeded after at least one conflict. */
  readonly okAfterRetry: number;
  readonly mostAttempts: number;
  /** The longest command, in ms. */
  readonly slowest: number;
  readonly ms: number;
}

/** Runs the racers against one store, all released at once; returns what each one reports. */
async function race(spec: StoreSpec, commands: number): Promise<Report[]> {
  const racers = Array.from({ length: PROCESSES }, (_, p) =>
    spawnNode(RACER, [JSON.stringify(spec), String(p), String(commands)]),
  );
  await Promise.all(racers.map((r) => r.line((l) => l === 'ready')));
  for (const r of racers) r.send('go');
  return Promise.all(
    racers.map(async (r, p) => {
      const line = await r.line((l) => l.startsWith('done '));
      const { code } = await r.exit;
      expect(code, `racer ${p}: ${r.stderr()}`).toBe(0);
      return JSON.parse(line.slice('done '.length)) as Report;
    }),
  );
}

/**
 * The stream holds versions 1..n (no gap), each successful command's tag exactly once, and
 * nothing else: not the tag of a command that gave up, nor a second copy of any tag.
 */
function expectEveryCommandOnce(audit: Audit, reports: readonly Report[]): void {
  const stored = audit.tags.get('race') ?? [];
  const ok = reports.flatMap((r) => r.ok);
  const counts = new Map<string, number>();
  for (const tag of stored) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  const known = new Set(ok);
  expect({
    // Every file decodes, versions are contiguous from 1, snapshots agree with the events.
    problems: audit.problems,
    storedTwice: [...counts].filter(([, n]) => n > 1).map(([tag]) => tag),
    successfulButMissing: ok.filter((tag) => !counts.has(tag)),
    storedButNotSuccessful: stored.filter((tag) => !known.has(tag)),
  }).toEqual({ problems: [], storedTwice: [], successfulButMissing: [], storedButNotSuccessful: [] });
  expect(stored.length).toBe(ok.length);
  // The only way a command may fail here: it lost 10 races in a row.
  expect(reports.flatMap((r) => r.failed).filter((f) => f.code !== 'EVSRC_RETRIES_EXHAUSTED')).toEqual([]);
  // It was a race, and the retry helper won it: commands conflicted, reloaded, ran again and landed.
  expect(reports.reduce((n, r) => n + r.okAfterRetry, 0)).toBeGreaterThan(0);
}

describe(`${PROCESSES} processes run commands on one aggregate, with the retry helper`, async () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  for (const store of await sharedStores()) {
    if ('skip' in store) {
      describe.skip(`${store.name}: ${store.skip}`, () => undefined);
      continue;
    }
    const commands = commandsOn(store.spec);
    it(`${store.name}: ${PROCESSES} × ${commands} commands; the version is the number that succeeded, each one's event stored once`, {
      timeout: Math.max(600_000, PROCESSES * commands * 2_000),
    }, async () => {
      if (store.spec.kind === 'local') roots.push(store.spec.root);
      const started = Date.now();
      const reports = await race(store.spec, commands);
      const seconds = (Date.now() - started) / 1000;

      const fileSystem = openStore(store.spec);
      try {
        const audit = await auditStore(fileSystem);
        expectEveryCommandOnce(audit, reports);
        const ok = reports.reduce((n, r) => n + r.ok.length, 0);
        const ledger = await new Repository({ fileSystem, aggregates: [ledgerType(25)] }).get(Ledger, 'race');
        expect(ledger.version).toBe(ok);
        const attempts = reports.reduce((n, r) => n + r.attempts, 0);
        console.info(
          `race on ${store.name}: ${PROCESSES} processes × ${commands} commands in ${seconds.toFixed(1)} s: ` +
            `version ${ledger.version} = ${ok} successful commands, ${PROCESSES * commands - ok} gave up after 10 ` +
            `conflicts; ${attempts - PROCESSES * commands} re-runs after a conflict, ` +
            `${reports.reduce((n, r) => n + r.okAfterRetry, 0)} commands landed after a retry, at most ` +
            `${Math.max(...reports.map((r) => r.mostAttempts))} attempts and ` +
            `${Math.max(...reports.map((r) => r.slowest))} ms for one command ` +
            `(${audit.batches} batches, ${audit.snapshots} snapshots)`,
        );
      } finally {
        await closeStore(fileSystem);
      }
    });
  }

  // A memory store lives in one process and cannot be shared across processes: the same
  // race runs between concurrent writers of one process instead.
  it(`memory (one process: a memory store cannot be shared across processes): ${PROCESSES} concurrent writers × ${COMMANDS} commands`, async () => {
    const fileSystem = new InMemoryFileSystem();
    const repository = new Repository({ fileSystem, aggregates: [ledgerType(25)] });
    const reports = await Promise.all(
      Array.from({ length: PROCESSES }, async (_, p): Promise<Report> => {
        const ok: string[] = [];
        const failed: Report['failed'] = [];
        let attempts = 0;
        let okAfterRetry = 0;
        for (let i = 0; i < COMMANDS; i++) {
          const tag = `p${p}-${i}`;
          const before = attempts;
          const command = (ledger: Ledger) => {
            attempts++;
            ledger.record(tag);
          };
          try {
            await repository.execute(Ledger, 'race', command, { create: true, maxAttempts: 10, backoffMs: 2 });
            ok.push(tag);
            if (attempts - before > 1) okAfterRetry++;
          } catch (error) {
            const { code, message } = error as { code: string; message: string };
            failed.push({ tag, code, message });
          }
        }
        return { ok, failed, attempts, okAfterRetry, mostAttempts: 0, slowest: 0, ms: 0 };
      }),
    );
    const audit = await auditStore(fileSystem);
    expectEveryCommandOnce(audit, reports);
    expect(audit.tags.get('race')).toHaveLength((await repository.get(Ledger, 'race')).version);
  });
});
