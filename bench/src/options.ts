import { randomBytes } from 'node:crypto';
import type { CodecOptions } from '@evsrc/core';
import { CodecPipeline } from '@evsrc/core/internals';
import { BACKENDS, type BackendName } from './backends/types.js';
import type { FeedScaleSettings } from './workloads/feed-scale.js';
import { SCALE_BACKENDS } from './workloads/feed-scale-stores.js';

export const PARSERS = ['json', 'msgpack'] as const;
export type ParserName = (typeof PARSERS)[number];
export const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5', 'rt', 'probe'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** The sizes of the workloads. */
export interface Sizes {
  /** W1: events of one aggregate, saved `w1Batch` at a time (W3 replays them). */
  w1Events: number;
  w1Batch: number;
  /** W2: aggregates, `w2Events` events each, one save each. */
  w2Aggregates: number;
  w2Events: number;
  /** W3: measured loads (after one warm-up load). */
  w3Loads: number;
  /** W4: events before the snapshot, then `w4After` events in saves of `w4AfterBatch`. */
  w4Events: number;
  w4After: number;
  w4AfterBatch: number;
  w4Loads: number;
  /** W5: concurrent writers, each on its own aggregate, `w5Saves` saves of `w5Events` events. */
  w5Writers: number;
  w5Saves: number;
  w5Events: number;
  /** Round-trip sweep: aggregates of these many batches (of `rtBatchEvents` events), loaded at each concurrency. */
  rtBatches: number[];
  rtConcurrency: number[];
  rtBatchEvents: number;
}

const FULL: Sizes = {
  w1Events: 100_000,
  w1Batch: 100,
  w2Aggregates: 10_000,
  w2Events: 10,
  w3Loads: 5,
  w4Events: 100_000,
  w4After: 50,
  w4AfterBatch: 10,
  w4Loads: 50,
  w5Writers: 16,
  w5Saves: 1_000,
  w5Events: 1,
  rtBatches: [10, 100, 1000],
  rtConcurrency: [1, 4, 16],
  rtBatchEvents: 10,
};

/**
 * Network backends by default: a tenth of the writes and a round-trip sweep up to 500
 * batches (the full sizes take many minutes on Azurite and radosgw on 2 cores).
 */
const NETWORK: Sizes = {
  ...FULL,
  w1Events: 10_000,
  w2Aggregates: 1_000,
  w4Events: 10_000,
  w5Saves: 100,
  rtBatches: [10, 100, 500],
};

const QUICK: Sizes = {
  ...FULL,
  w1Events: 2_000,
  w2Aggregates: 200,
  w3Loads: 3,
  w4Events: 2_000,
  w4Loads: 10,
  w5Writers: 4,
  w5Saves: 25,
  rtBatches: [10, 50],
};

export interface Options {
  readonly quick: boolean;
  readonly fullNetwork: boolean;
  /** Local disk writes flush (fsync) on both sides. */
  readonly durable: boolean;
  readonly backends: readonly BackendName[];
  readonly parsers: readonly ParserName[];
  readonly workloads: readonly WorkloadName[];
  /** Sizes on memory and local disk. */
  readonly sizes: Sizes;
  /** Sizes on Redis, Azurite and radosgw. */
  readonly networkSizes: Sizes;
  /** Events replayed by the memory probe (local disk, in a child process). */
  readonly probeEvents: number;
  readonly probeParsers: readonly ParserName[];
  /** Where the results go as JSON. */
  readonly out: string | undefined;
  /** The codec pipeline of every evsrc repository (`--codec`); the raw baselines stay plain. */
  readonly codec: CodecOptions | undefined;
  /** `--codec` as given, e.g. "deflate,aes" ("" for none). */
  readonly codecLabel: string;
  /** `--codec-sizes`: only the codec size and throughput table. */
  readonly codecSizes: boolean;
  /** `--feed`: only W2 and W5 (of those selected), with evsrc's change feed off and on. */
  readonly feed: boolean;
  /** `--feed-scale`: only saves/s with the feed off and on against writer processes (its settings). */
  readonly feedScale: FeedScaleSettings | undefined;
}

/** The stages `--codec` takes: one compression and/or `aes` (AES-256-GCM with a random key). */
export const CODEC_STAGES = ['deflate', 'brotli', 'zstd', 'aes', 'aes-per-aggregate'] as const;

/** Parses `--codec=deflate,aes` into repository codec options. */
export function parseCodec(value: string | undefined): CodecOptions | undefined {
  if (value === undefined || value === '' || value === 'none') return undefined;
  const stages = list(value, CODEC_STAGES, 'codec stage');
  const compressions = stages.filter((s) => s !== 'aes' && s !== 'aes-per-aggregate');
  if (compressions.length > 1) throw new Error(`--codec takes one compression, got ${compressions.join(', ')}`);
  const aes = stages.includes('aes') || stages.includes('aes-per-aggregate');
  const codec: CodecOptions = {
    ...(compressions[0] ? { compression: compressions[0] as 'deflate' | 'brotli' | 'zstd' } : {}),
    ...(aes
      ? {
          encryption: {
            keys: { bench: new Uint8Array(randomBytes(32)) },
            currentKey: 'bench',
            perAggregateKeys: stages.includes('aes-per-aggregate'),
          },
        }
      : {}),
  };
  new CodecPipeline(codec); // refuses zstd on a Node without it, before anything runs
  return codec;
}

export const USAGE = `Usage: pnpm bench [options]

  --quick                  small sizes (for CI: well under 2 minutes)
  --full-network           full sizes on Redis, Azurite and radosgw too (default: a tenth of the writes)
  --backends=a,b           of ${BACKENDS.join(',')} (default: all)
  --parsers=a,b            of ${PARSERS.join(',')} (default: both)
  --workloads=a,b          of ${WORKLOADS.join(',')} (default: all; rt = W3 against batch count and
                           concurrency on network backends, probe = memory of a 1,000,000-event replay)
  --durable=false          local disk without fsync (default: durable on both sides)
  --probe-events=N         events of the memory probe (default 1,000,000; quick 20,000)
  --probe-parsers=a,b      parsers of the memory probe (default msgpack)
  --out=FILE               results JSON (default bench/results/latest.json)
  --codec=a,b              evsrc's codec pipeline, of ${CODEC_STAGES.join(',')} (default: none;
                           e.g. deflate,aes); the raw baselines stay plain, so the ratio is the cost
  --codec-sizes            only measure every codec on the W1 data set (bytes stored, write and
                           replay throughput, in memory) and print that table
  --feed                   only the change feed's cost: W2 and W5 with evsrc alone, the feed off
                           then on (fresh stores), entries written per save, and W2 read back
  --feed-scale             only the change feed against writer processes: for each backend (of
                           ${SCALE_BACKENDS.join(',')}; redis+proxy = Redis behind a 5 ms-each-way
                           TCP proxy) and each P, P processes × --loops save loops of one event for
                           --seconds, the feed off then on (fresh stores): saves/s, on/off, log
                           entries per save, bytes per save. Results: bench/results/feed-scale-latest.json
    --processes=a,b        writer processes P (default 1,2,4,8,16; quick 1,2)
    --seconds=N            seconds per run (default 4; quick 1)
    --loops=N              concurrent save loops per process, each on its own aggregates (default 8)
    --partitions=K         the partitioned feed's number of logs, passed as feed: { partitions: K }
                           (default: feed: true)
    --rounds=N             rounds of feed off, on (interleaved; default 1; the table shows medians)
  --<size>=N               any size, e.g. --w1-events=50000 --w5-writers=8 --rt-batches=10,100
                           (${Object.keys(FULL)
                             .map((k) => kebab(k))
                             .join(', ')})
`;

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (const arg of argv) {
    if (arg === '--') continue;
    const match = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg}\n\n${USAGE}`);
    args.set(match[1] as string, match[2] ?? 'true');
  }
  return args;
}

function list<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(',').filter(Boolean);
  const wrong = items.filter((i) => !(allowed as readonly string[]).includes(i));
  if (wrong.length > 0) throw new Error(`unknown ${what}: ${wrong.join(', ')} (known: ${allowed.join(', ')})`);
  return items as T[];
}

function positive(value: string, name: string): number {
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} needs a positive integer, got ${value}`);
  return n;
}

/** Applies `--w1-events=N` style overrides to both size sets; removes them from `args`. */
function applySizes(args: Map<string, string>, targets: Sizes[]): void {
  for (const key of Object.keys(FULL) as (keyof Sizes)[]) {
    const name = kebab(key);
    const value = args.get(name);
    if (value === undefined) continue;
    args.delete(name);
    const parsed = Array.isArray(FULL[key]) ? value.split(',').map((v) => positive(v, name)) : positive(value, name);
    for (const sizes of targets) (sizes as unknown as Record<string, unknown>)[key] = parsed;
  }
}

export function parseOptions(argv: readonly string[]): Options | 'help' {
  const args = parseArgs(argv);
  if (args.has('help')) return 'help';
  const take = (name: string) => {
    const value = args.get(name);
    args.delete(name);
    return value;
  };
  const quick = take('quick') === 'true';
  const fullNetwork = take('full-network') === 'true';
  const sizes: Sizes = { ...(quick ? QUICK : FULL) };
  const networkSizes: Sizes = { ...(quick || fullNetwork ? sizes : NETWORK) };
  applySizes(args, [sizes, networkSizes]);
  const probe = take('probe-events');
  const durable = take('durable') !== 'false';
  const feedScale = take('feed-scale') === 'true';
  const backends = take('backends');
  const scale = (name: string, fallback: string) => positive(take(name) ?? fallback, name);
  const options: Options = {
    quick,
    fullNetwork,
    durable,
    backends: feedScale ? [] : list(backends, BACKENDS, 'backend'),
    parsers: list(take('parsers'), PARSERS, 'parser'),
    workloads: list(take('workloads'), WORKLOADS, 'workload'),
    sizes,
    networkSizes,
    probeEvents: probe === undefined ? (quick ? 20_000 : 1_000_000) : positive(probe, 'probe-events'),
    probeParsers: list(take('probe-parsers') ?? 'msgpack', PARSERS, 'parser'),
    out: take('out'),
    codecLabel: args.get('codec') ?? '',
    codecSizes: take('codec-sizes') === 'true',
    feed: take('feed') === 'true',
    codec: parseCodec(take('codec')),
    feedScale: feedScale
      ? {
          backends: list(backends, SCALE_BACKENDS, 'backend'),
          processes: (take('processes') ?? (quick ? '1,2' : '1,2,4,8,16'))
            .split(',')
            .map((v) => positive(v, 'processes')),
          seconds: scale('seconds', quick ? '1' : '4'),
          loops: scale('loops', '8'),
          partitions: args.has('partitions') ? scale('partitions', '') : undefined,
          rounds: scale('rounds', '1'),
          durable,
        }
      : undefined,
  };
  if (args.size > 0) throw new Error(`unknown option --${[...args.keys()][0]}\n\n${USAGE}`);
  return options;
}
