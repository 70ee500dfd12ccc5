/**
 * The memory probe: replays one aggregate of 1,000,000 events from local disk in a child
 * process (a clean heap) and compares the peak memory growth with the store's size.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NodeFsStore } from '../backends/local.js';
import { type PlainEvent, plainEvent } from '../domain.js';
import type { MemoryPeak } from '../measure.js';
import type { ParserName } from '../options.js';
import { batchFile, rawParsers } from '../raw/format.js';
import { rawBatchPath, TYPE } from './context.js';

const run = promisify(execFile);
const MB = 1024 * 1024;

/** What the child reports. */
export interface ProbeReport {
  readonly events: number;
  readonly ms: number;
  readonly memory: MemoryPeak;
  /** RSS before the load, after imports and a GC. */
  readonly baseRssMb: number;
  /** `process.resourceUsage().maxRSS` of the child at the end. */
  readonly maxRssMb: number;
}

export interface ProbeResult extends ProbeReport {
  readonly parser: ParserName;
  readonly storeMb: number;
  readonly files: number;
  /** Peak heap + external growth over the store's size. */
  readonly share: number;
}

const BATCH = 100;

/** Writes the aggregate with 8 concurrent raw writers (not durable): the set-up only. */
async function writeStore(root: string, parser: ParserName, events: number): Promise<void> {
  const store = new NodeFsStore(root, false);
  let next = 0;
  const writer = async () => {
    for (let first = next; first < events; first = next) {
      next += BATCH;
      const timestamp = Date.now();
      const batch: PlainEvent[] = [];
      for (let i = first; i < Math.min(first + BATCH, events); i++) batch.push(plainEvent(i, timestamp));
      await store.create(
        rawBatchPath('probe', first + 1),
        batchFile(rawParsers[parser], TYPE, 'probe', first + 1, batch),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, writer));
}

async function storeSize(folder: string): Promise<{ bytes: number; files: number }> {
  const names = await readdir(folder);
  let bytes = 0;
  for (const name of names) bytes += (await stat(join(folder, name))).size;
  return { bytes, files: names.length };
}

export async function memoryProbe(parser: ParserName, events: number): Promise<ProbeResult> {
  const root = await mkdtemp(join(tmpdir(), 'evsrc-bench-probe-'));
  try {
    await writeStore(root, parser, events);
    const { bytes, files } = await storeSize(join(root, TYPE, 'probe', 'events'));
    const child = fileURLToPath(new URL('../probe-child.js', import.meta.url));
    const { stdout } = await run(process.execPath, [child, root, String(events)], { maxBuffer: MB });
    const report = JSON.parse(stdout) as ProbeReport;
    const storeMb = bytes / MB;
    return { ...report, parser, storeMb, files, share: report.memory.heapMb / storeMb };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
