import type { FeedLog } from '../feed/log.js';
import { type Aggregate, internal, type StoredBatch } from '../model/aggregate.js';
import type { EventRecord } from '../model/event-record.js';
import type { FileSystem } from '../storage/file-system.js';
import type { GuardedFileSystem } from '../storage/guarded.js';
import { readBatches, type SnapshotAnchor } from './batch-reader.js';
import type { AggregateCache } from './cache.js';
import type { DecodedBatch, FileCodec } from './codec.js';
import type { BackgroundErrorContext } from './options.js';
import type { Registered, Registry } from './registry.js';

/** What loading, saving and snapshotting share: one repository's settings and services. */
export interface RepositoryContext {
  readonly fileSystem: FileSystem;
  /** {@link fileSystem}, its calls guarded. */
  readonly guarded: GuardedFileSystem;
  readonly codec: FileCodec;
  readonly registry: Registry;
  readonly cache: AggregateCache | undefined;
  readonly concurrency: number;
  readonly clock: () => number;
  readonly onError: (error: unknown, context: BackgroundErrorContext) => void;
  /** The feed writer, when this store's batches must be logged. */
  readonly feedLog: () => Promise<FeedLog | undefined>;
}

export const cacheKey = (type: string, id: string) => `${type}\0${id}`;

/** The decoded batches of one aggregate after `afterVersion`, in order. */
export function batches(
  ctx: RepositoryContext,
  reg: Registered,
  id: string,
  afterVersion: number,
  anchor?: SnapshotAnchor,
  onAnchor?: (batch: StoredBatch) => void,
): AsyncGenerator<DecodedBatch> {
  return readBatches({
    fs: ctx.fileSystem,
    codec: ctx.codec,
    type: reg.type,
    id,
    afterVersion,
    concurrency: ctx.concurrency,
    ...(anchor ? { anchor } : {}),
    ...(onAnchor ? { onAnchor } : {}),
  });
}

/** The event records of a decoded batch. */
export function records(reg: Registered, id: string, batch: DecodedBatch): EventRecord[] {
  return batch.events.map((s, i) => ({
    aggregateType: reg.type,
    aggregateId: id,
    version: batch.header.first + i,
    timestamp: s.timestamp,
    type: s.type,
    event: reg.events.create(s.type, s.payload, batch.path, s.version),
    ...(s.eventId !== undefined ? { eventId: s.eventId } : {}),
    ...(s.metadata ? { metadata: s.metadata } : {}),
  }));
}

/** Caches the aggregate's state when it is fully stored and ends a known batch. */
export function remember(ctx: RepositoryContext, reg: Registered, aggregate: Aggregate): void {
  if (!ctx.cache || aggregate.version !== aggregate.storedVersion) return;
  const key = cacheKey(reg.type, aggregate.id);
  const batch = aggregate[internal].storedBatch();
  if (batch?.last !== aggregate.storedVersion) return;
  try {
    const state = structuredClone(aggregate.toSnapshot());
    ctx.cache.set(key, { version: aggregate.storedVersion, timestamp: aggregate.timestamp, state, batch });
  } catch (error) {
    ctx.cache.delete(key);
    ctx.onError(error, { operation: 'cache', aggregateType: reg.type, aggregateId: aggregate.id });
  }
}
