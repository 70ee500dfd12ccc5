/**
 * Child process of the memory probe: `node probe-child.js ROOT EVENTS` loads the aggregate
 * `ledger/probe` from the local store at ROOT while sampling memory, and prints a JSON report.
 */
import { resourceUsage } from 'node:process';
import { createLocalFileSystem } from '@evsrc/fs-local';
import { Ledger } from './domain.js';
import { gc, MemorySampler } from './measure.js';
import { expectEvents, repository } from './workloads/context.js';
import type { ProbeReport } from './workloads/memory-probe.js';

const [root, expected] = process.argv.slice(2);
if (root === undefined || expected === undefined) throw new Error('usage: probe-child.js ROOT EVENTS');
const repo = repository(createLocalFileSystem({ root }), 'msgpack');
gc();
const baseRss = process.memoryUsage().rss;
const sampler = new MemorySampler();
sampler.start();
const start = performance.now();
const ledger = await repo.get(Ledger, 'probe');
const ms = performance.now() - start;
const memory = sampler.stop();
expectEvents('memory probe', ledger.version, Number(expected));
const MB = 1024 * 1024;
const report: ProbeReport = {
  events: ledger.version,
  ms,
  memory,
  baseRssMb: baseRss / MB,
  maxRssMb: (resourceUsage().maxRSS * 1024) / MB,
};
process.stdout.write(JSON.stringify(report));
