/**
 * W3 against batch count and read concurrency: on a network store a load of N batches
 * should cost about ⌈N / concurrency⌉ round trips (plus the listing), not N.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type CreateOptions, type FileSystem, InMemoryFileSystem, type ListOptions } from '@evsrc/core';
import { batchPath } from '@evsrc/core/internals';
import { Ledger } from '../domain.js';
import { measureLoads, quantile } from '../measure.js';
import type { Sizes } from '../options.js';
import { expectEvents, repository, saveRange, TYPE } from './context.js';

export interface RoundTripRow {
  readonly batches: number;
  readonly concurrency: number;
  /** Median load time. */
  readonly ms: number;
  /** Median time of one read of one batch file (one round trip). */
  readonly rttMs: number;
  /** ms / rttMs: how many round trips the load cost. */
  readonly roundTrips: number;
  /** ⌈batches / concurrency⌉: the round trips of reads alone if the store answered instantly. */
  readonly ideal: number;
}

/**
 * A store that answers after a fixed delay: in memory, but every read and every listing
 * costs one simulated round trip of `rttMs`. It shows the read path's pipelining without
 * the CPU of a server sharing the machine.
 */
export class DelayedFileSystem implements FileSystem {
  readonly #inner = new InMemoryFileSystem({ async: false });

  constructor(readonly rttMs: number) {}

  async read(path: string): Promise<Uint8Array | undefined> {
    await sleep(this.rttMs);
    return this.#inner.read(path);
  }

  create(path: string, data: Uint8Array, options?: CreateOptions): Promise<void> {
    return this.#inner.create(path, data, options);
  }

  replace(path: string, data: Uint8Array): Promise<void> {
    return this.#inner.replace(path, data);
  }

  async *list(prefix: string, options?: ListOptions): AsyncGenerator<string> {
    await sleep(this.rttMs);
    yield* this.#inner.list(prefix, { ...options, pageSize: Number.MAX_SAFE_INTEGER });
  }

  delete(path: string): Promise<void> {
    return this.#inner.delete(path);
  }
}

/** The stores a sweep uses: one to load from, one to set up with (the same data). */
export interface SweepStores {
  readonly fileSystem: FileSystem;
  readonly setupFileSystem: FileSystem;
}

/** Median time of a sequential read of one file: one round trip plus the adapter. */
async function roundTrip(fileSystem: FileSystem, path: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const start = performance.now();
    await fileSystem.read(path);
    if (i >= 10) times.push(performance.now() - start);
  }
  return quantile(times, 0.5);
}

export async function roundTrips(stores: SweepStores, sizes: Sizes): Promise<RoundTripRow[]> {
  const per = sizes.rtBatchEvents;
  const setup = repository(stores.setupFileSystem, 'msgpack');
  for (const n of sizes.rtBatches) await saveRange(setup, new Ledger(`rt-${n}`), 0, n * per, per);
  const first = sizes.rtBatches[0] ?? 1;
  const rttMs = await roundTrip(stores.fileSystem, batchPath(TYPE, `rt-${first}`, 1));
  const rows: RoundTripRow[] = [];
  for (const n of sizes.rtBatches) {
    for (const c of sizes.rtConcurrency) {
      const repo = repository(stores.fileSystem, 'msgpack', { readConcurrency: c });
      const m = await measureLoads(2, 1, async () => {
        const ledger = await repo.get(Ledger, `rt-${n}`);
        expectEvents('round trips', ledger.version, n * per);
        return ledger.version;
      });
      rows.push({ batches: n, concurrency: c, ms: m.ms, rttMs, roundTrips: m.ms / rttMs, ideal: Math.ceil(n / c) });
    }
  }
  return rows;
}
