/**
 * The read workloads. evsrc: `Repository.get` (list, read with the file system's read
 * concurrency, check header and CRC-32, decode, check every event, build event objects,
 * `applyOn`). raw: the same listing and reads with the same number in flight, each file
 * split at its header line and its body decoded with the same parser — no checks, no
 * event objects, no state. raw bytes: listing and reads only.
 *
 * @module
 */

import type { RawStore } from '../backends/types.js';
import { Ledger, ledgerState, snapshotAt } from '../domain.js';
import { measureLoads } from '../measure.js';
import { layout, type RawParser, snapshotFile, splitFile } from '../raw/format.js';
import {
  expectEvents,
  fmt,
  type Outcome,
  type RunContext,
  rawParser,
  rawRange,
  repository,
  saveRange,
  TYPE,
} from './context.js';

/**
 * Reads `names` with `concurrency` reads in flight, in order, handing each file to `each`
 * (which returns how many events it held).
 */
export async function readInOrder(
  store: RawStore,
  names: readonly string[],
  concurrency: number,
  each: (bytes: Uint8Array) => number,
): Promise<number> {
  const window: Promise<Uint8Array>[] = [];
  let next = 0;
  let events = 0;
  const refill = () => {
    while (next < names.length && window.length < concurrency) window.push(store.read(names[next++] as string));
  };
  refill();
  while (window.length > 0) {
    const bytes = await (window.shift() as Promise<Uint8Array>);
    refill();
    events += each(bytes);
  }
  return events;
}

const decodeEvents = (parser: RawParser) => (bytes: Uint8Array) =>
  (parser.decode(splitFile(bytes).body) as unknown[]).length;

/** Counts a file's events from its header only (the bytes-only baseline). */
const countOnly = (bytes: Uint8Array) => {
  const { header } = splitFile(bytes);
  return (header.last as number) - (header.first as number) + 1;
};

/** The raw replay of an aggregate's batches after `startAfter`. */
async function rawReplay(
  store: RawStore,
  id: string,
  concurrency: number,
  each: (bytes: Uint8Array) => number,
  startAfter?: string,
): Promise<number> {
  const names = await store.list(layout.events(TYPE, id), startAfter);
  return readInOrder(store, names, concurrency, each);
}

const concurrencyOf = (ctx: RunContext) => ctx.target.fileSystem.readConcurrency ?? 4;

/** W3: replays W1's aggregate from its batches (no snapshot). */
export async function w3(ctx: RunContext): Promise<Outcome> {
  const { w1Events: total, w1Batch: batch, w3Loads: loads } = ctx.sizes;
  if (!ctx.w1Written) {
    await saveRange(repository(ctx.target.setup.fileSystem, ctx.parser), new Ledger('w1'), 0, total, batch);
    await rawRange(ctx.target.setup.raw, rawParser(ctx), 'w1', 0, total, batch);
    ctx.w1Written = true;
  }
  const repo = repository(ctx.target.fileSystem, ctx.parser);
  const c = concurrencyOf(ctx);
  const evsrc = await measureLoads(loads, 1, async () => {
    const ledger = await repo.get(Ledger, 'w1');
    expectEvents('W3 evsrc', ledger.version, total);
    return ledger.version;
  });
  const replay = async (each: (bytes: Uint8Array) => number) => {
    const events = await rawReplay(ctx.target.raw, 'w1', c, each);
    expectEvents('W3 raw', events, total);
    return events;
  };
  const raw = await measureLoads(loads, 1, () => replay(decodeEvents(rawParser(ctx))));
  const rawBytes = await measureLoads(loads, 1, () => replay(countOnly));
  const size = `${fmt(total)} events in ${fmt(Math.ceil(total / batch))} batches, ${c} reads in flight`;
  return { size, evsrc, raw, rawBytes };
}

/** Writes W4's aggregate on both sides: `w4Events` events in saves of 100, a snapshot, then `w4After` more. */
async function setUpW4(ctx: RunContext, id: string): Promise<void> {
  const { w4Events: at, w4After: after, w4AfterBatch: batch } = ctx.sizes;
  const repo = repository(ctx.target.setup.fileSystem, ctx.parser, { snapshots: snapshotAt(at) });
  const ledger = new Ledger(id);
  await saveRange(repo, ledger, 0, at, 100);
  await saveRange(repo, ledger, at, at + after, batch);
  const { raw } = ctx.target.setup;
  const parser = rawParser(ctx);
  await rawRange(raw, parser, id, 0, at, 100);
  await raw.create(layout.snapshot(TYPE, id, at), snapshotFile(parser, TYPE, id, at, Date.now(), ledgerState(at)));
  await rawRange(raw, parser, id, at, at + after, batch);
}

/** The raw load of W4: newest snapshot, then the batches after it. */
async function rawSnapshotLoad(ctx: RunContext, id: string): Promise<number> {
  const store = ctx.target.raw;
  const parser = rawParser(ctx);
  const snapshots = await store.list(layout.snapshots(TYPE, id));
  const newest = snapshots.at(-1);
  if (newest === undefined) throw new Error('W4 raw: no snapshot');
  const { header, body } = splitFile(await store.read(newest));
  parser.decode(body);
  const version = header.version as number;
  return rawReplay(store, id, concurrencyOf(ctx), decodeEvents(parser), layout.batch(TYPE, id, version));
}

/** W4: loads an aggregate from its snapshot plus the events after it. */
export async function w4(ctx: RunContext): Promise<Outcome> {
  const { w4Events: at, w4After: after, w4AfterBatch: batch, w4Loads: loads } = ctx.sizes;
  const id = 'w4';
  await setUpW4(ctx, id);
  const repo = repository(ctx.target.fileSystem, ctx.parser);
  const evsrc = await measureLoads(loads, 3, async () => {
    const ledger = await repo.get(Ledger, id);
    expectEvents('W4 evsrc', ledger.version, at + after);
    return after;
  });
  const raw = await measureLoads(loads, 3, async () => {
    const events = await rawSnapshotLoad(ctx, id);
    expectEvents('W4 raw', events, after);
    return events;
  });
  const size = `snapshot at ${fmt(at)}, then ${after} events in ${Math.ceil(after / batch)} batches; ${loads} loads`;
  return { size, evsrc, raw };
}
