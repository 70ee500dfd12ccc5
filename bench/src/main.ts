/**
 * `pnpm bench [--quick] [options]`: runs every workload on every backend with both
 * parsers, each beside its raw baseline, prints the tables (Markdown) and writes the same
 * figures as JSON. Exits non-zero if any workload (or a backend's start) threw.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAzureBackend } from './backends/azure.js';
import { startLocal } from './backends/local.js';
import { startMemory } from './backends/memory.js';
import { startRedisBackend } from './backends/redis.js';
import { startS3Backend } from './backends/s3.js';
import type { Backend, BackendName, Started } from './backends/types.js';
import { type Options, parseOptions, USAGE, type WorkloadName } from './options.js';
import { report } from './report.js';
import { METHOD, machineInfo, type Results, type Row } from './results.js';
import { checkTargets } from './targets.js';
import { codecSizes, codecSizeTable } from './workloads/codec-sizes.js';
import { type Outcome, type RunContext, useCodec } from './workloads/context.js';
import { type FeedCostRow, feedCost } from './workloads/feed-cost.js';
import { feedScale, scaleReport } from './workloads/feed-scale.js';
import { memoryProbe } from './workloads/memory-probe.js';
import { w3, w4 } from './workloads/reads.js';
import { DelayedFileSystem, roundTrips, type SweepStores } from './workloads/round-trips.js';

/** The round trip of the simulated network store of the sweep. */
const SIMULATED_RTT_MS = 2;

import { w1, w2, w5 } from './workloads/writes.js';

const WORKLOADS: [WorkloadName, (ctx: RunContext) => Promise<Outcome>][] = [
  ['W1', w1],
  ['W3', w3],
  ['W2', w2],
  ['W4', w4],
  ['W5', w5],
];

const log = (line: string) => process.stderr.write(`${line}\n`);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function start(name: BackendName, options: Options): Promise<Started> | Started {
  switch (name) {
    case 'memory':
      return startMemory();
    case 'local':
      return startLocal(options.durable);
    case 'redis':
      return startRedisBackend();
    case 'azure':
      return startAzureBackend();
    case 's3':
      return startS3Backend();
  }
}

function rowsOf(backend: Backend, ctx: RunContext, workload: string, o: Outcome): Row[] {
  const base = { backend: backend.name, parser: ctx.parser, size: o.size, evsrc: o.evsrc };
  const rows: Row[] = [{ ...base, workload, raw: o.raw, ratio: o.evsrc.ms / o.raw.ms }];
  if (o.rawBytes)
    rows.push({ ...base, workload: `${workload} bytes`, raw: o.rawBytes, ratio: o.evsrc.ms / o.rawBytes.ms });
  return rows;
}

function progress(row: Row): void {
  if (row.error) {
    log(`  ${row.workload}: FAILED ${row.error}`);
    return;
  }
  const r = (n: number | undefined) => Math.round(n ?? 0).toLocaleString('en-US');
  log(
    `  ${row.workload.padEnd(8)} evsrc ${r(row.evsrc?.eventsPerSecond).padStart(11)} ev/s  raw ${r(row.raw?.eventsPerSecond).padStart(11)} ev/s  ratio ${row.ratio?.toFixed(2)}  p50 ${row.evsrc?.p50Ms.toFixed(2)} ms`,
  );
}

function feedProgress(row: FeedCostRow): void {
  if (row.error) {
    log(`  ${row.workload} feed off/on: FAILED ${row.error}`);
    return;
  }
  const r = (n: number | undefined) => Math.round(n ?? 0).toLocaleString('en-US');
  const back = row.readBack ? `  read back ${r(row.readBack.batchesPerSecond)} batches/s` : '';
  log(
    `  ${row.workload} feed off ${r(row.off?.eventsPerSecond).padStart(9)} ev/s  on ${r(row.on?.eventsPerSecond).padStart(9)} ev/s  on/off ${row.ratio?.toFixed(2)}  entries/save ${row.entriesPerSave?.toFixed(3)}${back}`,
  );
}

/** `--feed`: W2 and W5 with the feed off and on, each side on its own fresh stores. */
async function runFeedCost(backend: Backend, options: Options, results: Results, runId: string): Promise<void> {
  const sizes = backend.network ? options.networkSizes : options.sizes;
  for (const parser of options.parsers) {
    log(`${backend.name} / ${parser} / feed off and on`);
    const off = await backend.target(`${runId}-${parser}-feed-off`);
    try {
      const on = await backend.target(`${runId}-${parser}-feed-on`);
      try {
        const ctx: RunContext = { backend, target: on, parser, sizes, w1Written: false };
        for (const workload of ['W2', 'W5'] as const) {
          if (!options.workloads.includes(workload)) continue;
          const base = { backend: backend.name, parser, workload };
          let row: FeedCostRow;
          try {
            row = { ...base, ...(await feedCost(ctx, { off: off.fileSystem, on: on.fileSystem }, workload)) };
          } catch (error) {
            row = { ...base, error: message(error) };
            results.errors.push(
              `${backend.name} ${parser} ${workload} feed: ${error instanceof Error ? error.stack : error}`,
            );
          }
          feedProgress(row);
          results.feedCost.push(row);
        }
      } finally {
        await on.close();
      }
    } finally {
      await off.close();
    }
  }
}

async function runParsers(backend: Backend, options: Options, results: Results, runId: string): Promise<void> {
  if (options.feed) return runFeedCost(backend, options, results, runId);
  const sizes = backend.network ? options.networkSizes : options.sizes;
  for (const parser of options.parsers) {
    log(`${backend.name} / ${parser}`);
    const target = await backend.target(`${runId}-${parser}`);
    const ctx: RunContext = { backend, target, parser, sizes, w1Written: false };
    try {
      for (const [name, workload] of WORKLOADS) {
        if (!options.workloads.includes(name)) continue;
        let rows: Row[];
        try {
          rows = rowsOf(backend, ctx, name, await workload(ctx));
        } catch (error) {
          rows = [{ backend: backend.name, parser, workload: name, error: message(error) }];
          results.errors.push(`${backend.name} ${parser} ${name}: ${error instanceof Error ? error.stack : error}`);
        }
        rows.forEach(progress);
        results.rows.push(...rows);
      }
    } finally {
      await target.close();
    }
  }
}

async function runRoundTrips(backend: Backend, options: Options, results: Results, runId: string): Promise<void> {
  if (!backend.network || !options.workloads.includes('rt') || options.feed) return;
  log(`${backend.name} / round trips`);
  const target = await backend.target(`${runId}-rt`);
  try {
    await sweep(
      backend.name,
      { fileSystem: target.fileSystem, setupFileSystem: target.setup.fileSystem },
      options,
      results,
    );
  } finally {
    await target.close();
  }
}

async function sweep(name: string, stores: SweepStores, options: Options, results: Results): Promise<void> {
  try {
    const rows = await roundTrips(stores, options.networkSizes);
    for (const row of rows) {
      log(`  N=${row.batches} c=${row.concurrency}: ${row.ms.toFixed(1)} ms (${row.roundTrips.toFixed(1)} × one read)`);
      results.roundTrips.push({ backend: name, ...row });
    }
  } catch (error) {
    results.errors.push(`${name} round trips: ${error instanceof Error ? error.stack : error}`);
  }
}

/** The sweep on a simulated network store: memory, with a fixed delay per read and listing. */
async function runSimulatedRoundTrips(options: Options, results: Results): Promise<void> {
  if (!options.workloads.includes('rt') || options.feed) return;
  const name = `simulated ${SIMULATED_RTT_MS} ms`;
  log(`${name} / round trips`);
  const fileSystem = new DelayedFileSystem(SIMULATED_RTT_MS);
  await sweep(name, { fileSystem, setupFileSystem: fileSystem }, options, results);
}

async function runBackend(name: BackendName, options: Options, results: Results, runId: string): Promise<void> {
  let started: Started;
  try {
    started = await start(name, options);
  } catch (error) {
    results.errors.push(`${name}: could not start: ${message(error)}`);
    results.rows.push({ backend: name, parser: 'json', workload: '—', error: `could not start: ${message(error)}` });
    return;
  }
  if ('skip' in started) {
    results.skipped.push({ backend: name, reason: started.skip });
    return;
  }
  results.backends[name] = started.description;
  // Ctrl-C: stop the servers, then exit as Node would have (a listener replaces its default exit).
  const stop = () => void started.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    await runParsers(started, options, results, runId);
    await runRoundTrips(started, options, results, runId);
  } finally {
    process.removeListener('SIGINT', stop);
    await started.stop();
  }
}

async function runProbe(options: Options, results: Results): Promise<void> {
  if (!options.workloads.includes('probe') || !options.backends.includes('local') || options.feed) return;
  for (const parser of options.probeParsers) {
    log(`memory probe / ${parser}: ${options.probeEvents.toLocaleString('en-US')} events`);
    try {
      results.memoryProbe.push(await memoryProbe(parser, options.probeEvents));
    } catch (error) {
      results.errors.push(`memory probe ${parser}: ${error instanceof Error ? error.stack : error}`);
    }
  }
}

function newResults(options: Options): Results {
  return {
    startedAt: new Date().toISOString(),
    durationS: 0,
    machine: machineInfo(),
    settings: {
      quick: options.quick,
      durable: options.durable,
      fullNetwork: options.fullNetwork,
      sizes: options.sizes,
      networkSizes: options.networkSizes,
      codec: options.codecLabel,
      feed: options.feed,
    },
    method: METHOD,
    backends: {},
    skipped: [],
    rows: [],
    roundTrips: [],
    memoryProbe: [],
    feedCost: [],
    targets: [],
    errors: [],
  };
}

/** `--feed-scale`: its own runs, tables and JSON (bench/results/feed-scale-latest.json by default). */
async function runFeedScale(settings: NonNullable<Options['feedScale']>, out: string | undefined): Promise<number> {
  const results = await feedScale(settings);
  const file = out ?? fileURLToPath(new URL('../results/feed-scale-latest.json', import.meta.url));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(scaleReport(results));
  log(`\nresults: ${file}`);
  if (results.errors.length > 0) log(`\n${results.errors.length} run(s) failed:\n${results.errors.join('\n')}`);
  return results.errors.length > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (options.codecSizes) {
    process.stdout.write(codecSizeTable(await codecSizes(options.parsers, options.sizes)));
    return 0;
  }
  if (options.feedScale) return runFeedScale(options.feedScale, options.out);
  useCodec(options.codec);
  if (options.codecLabel) log(`codec pipeline of evsrc's repositories: ${options.codecLabel} (raw baselines plain)`);
  const began = performance.now();
  const results = newResults(options);
  const runId = `run-${Date.now().toString(36)}`;
  for (const name of options.backends) await runBackend(name, options, results, runId);
  await runSimulatedRoundTrips(options, results);
  await runProbe(options, results);
  results.targets = checkTargets(results);
  results.durationS = (performance.now() - began) / 1000;
  const out = options.out ?? fileURLToPath(new URL('../results/latest.json', import.meta.url));
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(report(results));
  log(`\nresults: ${out}`);
  if (results.errors.length > 0) log(`\n${results.errors.length} workload(s) failed:\n${results.errors.join('\n')}`);
  return results.errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
