import { cpus, release, totalmem, type } from 'node:os';
import type { BackendName } from './backends/types.js';
import type { Measurement } from './measure.js';
import type { ParserName, Sizes } from './options.js';
import type { FeedCostRow } from './workloads/feed-cost.js';
import type { ProbeResult } from './workloads/memory-probe.js';
import type { RoundTripRow } from './workloads/round-trips.js';

/** One line of the main table: a workload on one backend with one parser, both sides. */
export interface Row {
  readonly backend: BackendName;
  readonly parser: ParserName;
  /** W1..W5, or "W3 bytes" (W3 against the bytes-only baseline). */
  readonly workload: string;
  readonly size?: string;
  readonly evsrc?: Measurement;
  readonly raw?: Measurement;
  /** evsrc time / raw time (above 1: evsrc is slower). */
  readonly ratio?: number;
  readonly error?: string;
}

/** The machine a run measured: CPUs, memory, OS and Node, for every results file. */
export function machineInfo(): Record<string, string | number> {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
  };
}

export interface Results {
  readonly startedAt: string;
  durationS: number;
  readonly machine: Record<string, string | number>;
  readonly settings: {
    readonly quick: boolean;
    readonly durable: boolean;
    readonly fullNetwork: boolean;
    readonly sizes: Sizes;
    readonly networkSizes: Sizes;
    /** evsrc's codec pipeline (`--codec`), "" for none. */
    readonly codec: string;
    /** `--feed`: only W2 and W5, with evsrc's change feed off and on. */
    readonly feed: boolean;
  };
  readonly method: Record<string, string>;
  readonly backends: Partial<Record<BackendName, string>>;
  readonly skipped: { backend: BackendName; reason: string }[];
  readonly rows: Row[];
  /** The sweep: a real backend's name, or the simulated store's. */
  readonly roundTrips: (RoundTripRow & { backend: string })[];
  readonly memoryProbe: ProbeResult[];
  /** `--feed`: W2 and W5 with the change feed off and on. */
  readonly feedCost: FeedCostRow[];
  targets: { target: string; status: 'met' | 'missed' | 'not run'; detail: string }[];
  readonly errors: string[];
}

/** How the figures are made, printed and stored with them. */
export const METHOD: Record<string, string> = {
  'events/s':
    'writes: events stored / wall time of the whole workload; reads: events replayed / median load time (W3: 5 loads after 1 warm-up; W4: 50 loads after 3).',
  'p50/p99': 'latency per save (W1, W2, W5: encoding included on both sides) or per load (W3, W4), nearest rank.',
  memory:
    'sampled every 5 ms with process.memoryUsage(): Δheap = peak (heapUsed + external) above its level after a forced GC at the start; RSS = peak resident set size of the whole process.',
  ratio: 'evsrc time / raw time for the same work (1.00 = same speed; 1.20 = evsrc takes 20% longer).',
  'raw (writes)':
    'the same events as plain objects, encoded with the same parser (JSON.stringify / msgpackr with evsrc’s options) into a file of the same format (header line with CRC-32, then the body), written with the store’s create-if-absent primitive through the same client; no aggregate, no event classes, no evsrc code.',
  'raw (W3, W4)':
    'the same listing and reads (same reads in flight), each file split at its header line and its body decoded with the same parser; no CRC or shape checks, no event objects, no applyOn. "W3 bytes": listing and reads only, nothing decoded.',
  'warm-up': 'each write workload starts with 20 unmeasured saves on each side (JIT, connections, the S3 probe).',
  'feed (--feed)':
    'W2 and W5 run twice with evsrc only, each on its own fresh store: the feed off, then on (repository option feed). on/off = time on / time off. Feed entries = log entries the measured saves wrote (from feed.head() before and after, summed over the feed’s partitions), per save: below 1 when saves of one partition queued in the process share an entry (group commit). Read back: W2’s batches read with feed.read() from the checkpoint before W2, by a new repository, once.',
};
