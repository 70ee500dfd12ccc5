import { type CodecOptions, type FileSystem, Repository, type SnapshotPolicy } from '@evsrc/core';
import type { Backend, RawStore, Target } from '../backends/types.js';
import { Ledger, ledgers, type PlainEvent, plainEvent } from '../domain.js';
import type { Latencies, Measurement } from '../measure.js';
import type { ParserName, Sizes } from '../options.js';
import { batchFile, type RawParser, rawParsers } from '../raw/format.js';

/** What a workload runs on. */
export interface RunContext {
  readonly backend: Backend;
  readonly target: Target;
  readonly parser: ParserName;
  readonly sizes: Sizes;
  /** Set once W1 wrote its aggregate on both sides (W3 replays it). */
  w1Written: boolean;
}

/** What a workload measured on both sides. */
export interface Outcome {
  /** What was run, e.g. "100,000 events, 1,000 saves of 100". */
  readonly size: string;
  readonly evsrc: Measurement;
  readonly raw: Measurement;
  /** A second baseline, for the read workloads: the same files read as bytes only, not decoded. */
  readonly rawBytes?: Measurement;
}

export const TYPE = Ledger.type;

export const fmt = (n: number) => n.toLocaleString('en-US');

let benchCodec: CodecOptions | undefined;

/** Sets the codec pipeline of every repository the workloads open from now on (`--codec`). */
export function useCodec(codec: CodecOptions | undefined): void {
  benchCodec = codec;
}

export function repository(
  fileSystem: FileSystem,
  parser: ParserName,
  options: { readConcurrency?: number; snapshots?: SnapshotPolicy; feed?: boolean } = {},
): Repository {
  return new Repository({
    fileSystem,
    aggregates: [ledgers(options.snapshots)],
    format: parser,
    ...(benchCodec ? { codec: benchCodec } : {}),
    ...(options.readConcurrency ? { readConcurrency: options.readConcurrency } : {}),
    ...(options.feed === undefined ? {} : { feed: options.feed }),
  });
}

export const rawParser = (ctx: { parser: ParserName }): RawParser => rawParsers[ctx.parser];

/** Records events `from` until `to` on `ledger` and saves them `batch` at a time. */
export async function saveRange(
  repo: Repository,
  ledger: Ledger,
  from: number,
  to: number,
  batch: number,
  latencies?: Latencies,
): Promise<void> {
  for (let first = from; first < to; first += batch) {
    const last = Math.min(first + batch, to);
    for (let i = first; i < last; i++) ledger.record(i);
    await (latencies ? latencies.time(() => repo.save(ledger)) : repo.save(ledger));
  }
}

/** The raw twin of {@link saveRange}: the same events, encoded by hand, one create per batch. */
export async function rawRange(
  store: RawStore,
  parser: RawParser,
  id: string,
  from: number,
  to: number,
  batch: number,
  latencies?: Latencies,
): Promise<void> {
  for (let first = from; first < to; first += batch) {
    const last = Math.min(first + batch, to);
    const timestamp = Date.now();
    const events: PlainEvent[] = [];
    for (let i = first; i < last; i++) events.push(plainEvent(i, timestamp));
    const write = () => store.create(rawBatchPath(id, first + 1), batchFile(parser, TYPE, id, first + 1, events));
    await (latencies ? latencies.time(write) : write());
  }
}

const pad = (version: number) => String(version).padStart(12, '0');
export const rawBatchPath = (id: string, first: number) => `${TYPE}/${id}/events/${pad(first)}.batch`;

/** A few unmeasured saves on each side, so that JIT, connections and one-time checks are warm. */
let warmUps = 0;
export async function warmUp(ctx: RunContext, side: 'evsrc' | 'raw'): Promise<void> {
  const id = `warm-up-${side}-${++warmUps}`;
  if (side === 'evsrc') {
    await saveRange(repository(ctx.target.fileSystem, ctx.parser), new Ledger(id), 0, 200, 10);
  } else {
    await rawRange(ctx.target.raw, rawParser(ctx), id, 0, 200, 10);
  }
}

/** Throws unless a load found what was written: a benchmark that reads nothing measures nothing. */
export function expectEvents(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what}: replayed ${actual} events, expected ${expected}`);
}
