import { expect } from 'vitest';
import type { FeedBatch } from '../../feed/feed.js';
import {
  encodeMarker,
  entryPath,
  FEED_MARKER,
  type FeedLayout,
  LEGACY_LAYOUT,
  logFolder,
  parseVector,
  partitionOf,
} from '../../feed/layout.js';
import { Aggregate } from '../../model/aggregate.js';
import { ChangeEvent } from '../../model/change-event.js';
import { aggregateType } from '../../repository/aggregate-type.js';
import type { RepositoryOptions } from '../../repository/options.js';
import { Repository } from '../../repository/repository.js';
import type { FileSystem } from '../../storage/file-system.js';
import { TestAccount, testAccountType } from '../sample-domain.js';

/** A second aggregate type, to show type filters. */
export class TestLedger extends Aggregate {
  static readonly type = 'test-ledger';
  lines = 0;
  post(): void {
    this.raise(new TestPosted(this.lines + 1));
  }
}

class TestPosted extends ChangeEvent<TestLedger> {
  static readonly type = 'posted';
  constructor(readonly line: number) {
    super();
  }
  applyOn(ledger: TestLedger): void {
    ledger.lines = this.line;
  }
}

const ledgerType = aggregateType(TestLedger, { events: [TestPosted] });

/** A layout the suite runs under: the one log of stores from before partitions, or K partitions. */
export interface FeedVariant {
  readonly name: string;
  readonly layout: FeedLayout;
}

/** The variants every backend runs the suite under. */
export const VARIANTS: readonly FeedVariant[] = [
  { name: 'one log (a store from before partitions)', layout: LEGACY_LAYOUT },
  { name: '4 partitions', layout: { partitions: 4, legacy: false } },
];

/** What the contract's topics share: file systems to test, repositories on them, helpers. */
export interface FeedHarness {
  readonly timeout: number;
  readonly perWriter: number;
  readonly notifies: boolean;
  readonly variant: FeedVariant;
  /** A fresh store, with the variant's feed marker. */
  open(): Promise<FileSystem>;
  /** Another client of the same store (or `fs` itself when the backend has no second client). */
  other(fs: FileSystem): Promise<FileSystem>;
  /** A repository with the feed on, both sample types, and a short roll-forward delay. */
  repo(fs: FileSystem, extra?: Partial<RepositoryOptions>): Repository;
  deposit(r: Repository, id: string, amount: number): Promise<TestAccount>;
}

/** Builds a {@link FeedHarness}. */
export function harness(
  base: Omit<FeedHarness, 'open' | 'repo' | 'deposit' | 'variant'> & { create(): Promise<FileSystem> },
  variant: FeedVariant,
): FeedHarness {
  const { create, ...rest } = base;
  return {
    ...rest,
    variant,
    async open() {
      const fs = await create();
      // The feed is on from the start (a store whose feed predates partitions carries the marker `on`).
      const marker = variant.layout.legacy ? new TextEncoder().encode('on\n') : encodeMarker(variant.layout.partitions);
      await fs.create(FEED_MARKER, marker);
      return fs;
    },
    repo: (fs, extra = {}) =>
      new Repository({
        fileSystem: fs,
        aggregates: [testAccountType(), ledgerType],
        feed: variant.layout.legacy ? true : { partitions: variant.layout.partitions },
        feedReading: { rollForwardAfterMs: 50 },
        ...extra,
      }),
    deposit: (r, id, amount) =>
      r.execute(TestAccount, id, (a) => a.deposit(amount, String(amount)), { create: true, maxAttempts: 50 }),
  };
}

/** `type/id/first-last` of each batch: what the invariants compare. */
export const keys = (batches: readonly FeedBatch[]) =>
  batches.map((b) => `${b.aggregateType}/${b.aggregateId}/${b.firstVersion}-${b.lastVersion}`);

/** The partition of a test account (0 in a one-log feed). */
export const partitionOfAccount = (layout: FeedLayout, id: string, type = 'test-account') =>
  partitionOf(type, id, layout.partitions);

/** An id (`{prefix}{n}`) of a test account that lands in `partition`. */
export function idIn(layout: FeedLayout, partition: number, prefix: string, type = 'test-account'): string {
  for (let n = 0; ; n++)
    if (partitionOf(type, `${prefix}${n}`, layout.partitions) === partition) return `${prefix}${n}`;
}

/** The path of the log entry at `position` of the partition holding aggregate `id`. */
export const entryOf = (layout: FeedLayout, id: string, position: number, type = 'test-account') =>
  entryPath(position, logFolder(layout, partitionOf(type, id, layout.partitions)));

/** A batch's place: its partition, and its position and index in that partition's log. */
export function placeOfBatch(
  layout: FeedLayout,
  batch: FeedBatch,
): { partition: number; position: number; index: number } {
  const at = parseVector(batch.checkpoint, layout)[batch.partition];
  if (!at) throw new Error(`no place for partition ${batch.partition} in ${batch.checkpoint}`);
  return { partition: batch.partition, position: at.position, index: at.index };
}

/**
 * Checks the order of a read of a log that did not change while it was read: each batch
 * in its aggregate's partition, and the batches in (position, partition, index) order —
 * the documented merge — and each aggregate's batches in version order, without a gap.
 */
export function expectFeedOrder(layout: FeedLayout, batches: readonly FeedBatch[]): void {
  let previous: { partition: number; position: number; index: number } | undefined;
  for (const batch of batches) {
    expect(batch.partition).toBe(partitionOf(batch.aggregateType, batch.aggregateId, layout.partitions));
    const place = placeOfBatch(layout, batch);
    if (previous) {
      const after =
        place.position > previous.position ||
        (place.position === previous.position &&
          (place.partition > previous.partition ||
            (place.partition === previous.partition && place.index > previous.index)));
      expect(after, `${batch.checkpoint} after ${JSON.stringify(previous)}`).toBe(true);
    }
    previous = place;
  }
  const last = new Map<string, number>();
  for (const b of batches) {
    const key = `${b.aggregateType}/${b.aggregateId}`;
    const before = last.get(key);
    if (before !== undefined) expect(b.firstVersion, key).toBe(before + 1);
    last.set(key, b.lastVersion);
  }
}

/**
 * The batches, compared with `expected` (`keys`): in that exact order on a one-log feed;
 * on a partitioned one, the same batches, in the documented merge order.
 */
export function expectBatches(layout: FeedLayout, batches: readonly FeedBatch[], expected: readonly string[]): void {
  if (layout.partitions === 1) {
    expect(keys(batches)).toEqual(expected);
    return;
  }
  expect([...keys(batches)].sort()).toEqual([...expected].sort());
  expectFeedOrder(layout, batches);
}
