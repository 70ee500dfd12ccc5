/**
 * Timing and memory sampling.
 *
 * Peak memory is sampled with `process.memoryUsage()` every {@link SAMPLE_MS} ms while a
 * workload runs (and once at its end), after a forced garbage collection before it starts:
 * `heap` is the peak of `heapUsed + external` (JS objects plus the byte arrays files are
 * read into) above the level at the start, `rss` the peak resident set size.
 *
 * @module
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Forces a full garbage collection (twice: finalizers may free more). */
export function gc(): void {
  collect();
  collect();
}

export const SAMPLE_MS = 5;
const MB = 1024 * 1024;

/** Peak memory seen while a workload ran, in MiB. */
export interface MemoryPeak {
  /** Peak of heapUsed + external above the start level. */
  readonly heapMb: number;
  /** Peak resident set size of the process. */
  readonly rssMb: number;
}

const used = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external;

/** Samples memory from `start()` until `stop()`. */
export class MemorySampler {
  #base = 0;
  #peak = 0;
  #rss = 0;
  #timer: NodeJS.Timeout | undefined;

  start(): void {
    gc();
    const m = process.memoryUsage();
    this.#base = used(m);
    this.#peak = this.#base;
    this.#rss = m.rss;
    this.#timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  sample(): void {
    const m = process.memoryUsage();
    this.#peak = Math.max(this.#peak, used(m));
    this.#rss = Math.max(this.#rss, m.rss);
  }

  stop(): MemoryPeak {
    this.sample();
    clearInterval(this.#timer);
    return { heapMb: (this.#peak - this.#base) / MB, rssMb: this.#rss / MB };
  }
}

/** The value at quantile `q` (0..1) of `values` (sorted here), nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Records the duration of each operation of a workload. */
export class Latencies {
  readonly values: number[] = [];

  async time<T>(operation: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const result = await operation();
    this.values.push(performance.now() - start);
    return result;
  }

  get p50(): number {
    return quantile(this.values, 0.5);
  }

  get p99(): number {
    return quantile(this.values, 0.99);
  }
}

/** What one side (evsrc, or a raw baseline) of one workload measured. */
export interface Measurement {
  /** Events written or replayed. */
  readonly events: number;
  /** Operations (saves, or loads) whose latency is reported. */
  readonly operations: number;
  /** Wall time of the workload, or of one load for the read workloads (the median). */
  readonly ms: number;
  readonly eventsPerSecond: number;
  /** Latency per operation. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly memory: MemoryPeak;
  /** Bytes written or read. */
  readonly bytes?: number;
}

/** Runs a write workload: wall time over the whole run, latency per save. */
export async function measureWrites(
  events: number,
  run: (latencies: Latencies) => Promise<void>,
): Promise<Measurement> {
  const latencies = new Latencies();
  const sampler = new MemorySampler();
  sampler.start();
  const start = performance.now();
  let ms: number;
  let memory: MemoryPeak;
  try {
    await run(latencies);
  } finally {
    ms = performance.now() - start;
    memory = sampler.stop(); // also when the workload fails: the sampling timer must not outlive it
  }
  return {
    events,
    operations: latencies.values.length,
    ms,
    eventsPerSecond: (events / ms) * 1000,
    p50Ms: latencies.p50,
    p99Ms: latencies.p99,
    memory,
  };
}

/**
 * Runs a read workload `repeat` times after `warmUp` unmeasured runs: events/s from the
 * median load, latency per load. `load` returns how many events it replayed.
 */
export async function measureLoads(repeat: number, warmUp: number, load: () => Promise<number>): Promise<Measurement> {
  for (let i = 0; i < warmUp; i++) await load();
  const latencies = new Latencies();
  const sampler = new MemorySampler();
  sampler.start();
  let events = 0;
  let memory: MemoryPeak;
  try {
    for (let i = 0; i < repeat; i++) events = await latencies.time(load);
  } finally {
    memory = sampler.stop();
  }
  const ms = latencies.p50;
  return {
    events,
    operations: repeat,
    ms,
    eventsPerSecond: (events / ms) * 1000,
    p50Ms: latencies.p50,
    p99Ms: latencies.p99,
    memory,
  };
}
