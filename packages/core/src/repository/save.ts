import {
  ConcurrencyError,
  ErrorCode,
  isEvsrcError,
  type MissingPredecessorError,
  StreamIntegrityError,
} from '../errors.js';
import { commitBatch } from '../feed/commit.js';
import { batchPath, eventsFolder } from '../format/layout.js';
import {
  type Aggregate,
  type AggregateClass,
  internal,
  type PendingEvent,
  type StoredBatch,
} from '../model/aggregate.js';
import type { EventRecord, StoredEvent } from '../model/event-record.js';
import { cacheKey, type RepositoryContext, records, remember } from './context.js';
import type { SaveOptions } from './options.js';
import type { Registered } from './registry.js';
import { writeSnapshot } from './snapshots.js';

/**
 * Stores the events pending up to `upTo` as one batch (see `Repository.save`): the
 * pending slice, the stored events, the batch this one must follow, and — on a create
 * conflict — whether it was our own earlier attempt that landed.
 */
export async function saveBatch(
  ctx: RepositoryContext,
  aggregate: Aggregate,
  upTo: PendingEvent | undefined,
  options: SaveOptions,
): Promise<readonly EventRecord[]> {
  const reg = ctx.registry.of(aggregate.constructor as AggregateClass);
  // The events pending when save() was called: any raised since stay pending for the next save.
  const all = aggregate.pendingEvents;
  const pending = upTo === undefined ? [] : all.slice(0, all.indexOf(upTo) + 1);
  if (pending.length === 0) return [];
  const inner = aggregate[internal];
  const { id } = aggregate;
  const first = aggregate.storedVersion + 1;
  const last = first + pending.length - 1;
  const previous = await predecessor(ctx, reg, aggregate);
  const timestamp = Math.max(ctx.clock(), inner.lastTimestamp());
  const commit = inner.commitId();
  // Built field by field (no conditional spreads): this runs once per saved event.
  const stored: StoredEvent[] = pending.map((p) => {
    const metadata = options.metadata || p.metadata ? { ...options.metadata, ...p.metadata } : undefined;
    const version = reg.events.versionOf(p.event);
    const s: Mutable<StoredEvent> = {
      type: reg.events.nameOf(p.event),
      timestamp,
      payload: reg.events.payloadOf(p.event, id),
    };
    if (version !== 1) s.version = version;
    if (p.eventId !== undefined) s.eventId = p.eventId;
    if (metadata) s.metadata = metadata;
    return s;
  });
  const path = batchPath(reg.type, id, first);
  const dataKey = await ctx.codec.writeKey(reg.type, id);
  const fields = { type: reg.type, id, first, last, commit };
  const log = await ctx.feedLog();
  const encode = ctx.codec.stageBatch(fields, stored, dataKey);
  let saved: EventRecord[];
  try {
    // Logged first when the feed is on, then created only while `previous` exists (feed/commit.ts).
    await commitBatch(ctx.guarded, log, { path, ...fields, ...followed(previous) }, encode);
    saved = stored.map((s, i) => {
      const r: Mutable<EventRecord> = {
        aggregateType: reg.type,
        aggregateId: id,
        version: first + i,
        timestamp: s.timestamp,
        type: s.type,
        event: (pending[i] as (typeof pending)[number]).event,
      };
      if (s.eventId !== undefined) r.eventId = s.eventId;
      if (s.metadata) r.metadata = s.metadata;
      return r;
    });
  } catch (error) {
    if (isEvsrcError(error, ErrorCode.MissingPredecessor)) throw lostPredecessor(reg.type, id, aggregate, error);
    if (!isEvsrcError(error, ErrorCode.FileExists)) throw error;
    const landed = await ourEarlierAttempt(ctx, reg, id, path, first, last, commit, pending);
    if (!landed) {
      ctx.cache?.delete(cacheKey(reg.type, id));
      throw new ConcurrencyError(reg.type, id, first - 1, await latestVersion(ctx, reg, id, first));
    }
    if (landed.length < pending.length) {
      // An earlier attempt stored only the events pending then: they are stored, the rest go in the next batch.
      committed(ctx, reg, aggregate, landed, commit);
      return [...landed, ...(await saveBatch(ctx, aggregate, upTo, options))];
    }
    saved = landed;
  }
  const previousVersion = aggregate.storedVersion;
  committed(ctx, reg, aggregate, saved, commit);
  if (reg.snapshots?.({ aggregate, previousVersion, version: last }) && aggregate.version === last) {
    await writeSnapshot(ctx, reg, aggregate);
  }
  return saved;
}

/**
 * The batch this save must follow (`undefined` for an aggregate's first batch).
 * @throws {ConcurrencyError} when the aggregate was loaded as of a version inside a
 *   batch (time travel): the stream goes on past it, so nothing can follow it.
 */
async function predecessor(
  ctx: RepositoryContext,
  reg: Registered,
  aggregate: Aggregate,
): Promise<StoredBatch | undefined> {
  const stored = aggregate.storedVersion;
  if (stored === 0) return undefined;
  const batch = aggregate[internal].storedBatch();
  if (batch?.last === stored) return batch;
  const latest = batch ? await latestVersion(ctx, reg, aggregate.id, batch.first) : stored;
  throw new ConcurrencyError(reg.type, aggregate.id, stored, Math.max(latest, stored + 1));
}

/** Marks `saved` (stored by the save `commit`) stored on the aggregate, tells its observers and caches it. */
function committed(
  ctx: RepositoryContext,
  reg: Registered,
  aggregate: Aggregate,
  saved: readonly EventRecord[],
  commit: string,
): void {
  for (const err of aggregate[internal].committed(saved, commit)) {
    ctx.onError(err, { operation: 'observer', aggregateType: reg.type, aggregateId: aggregate.id });
  }
  remember(ctx, reg, aggregate);
}

/**
 * After a create conflict: did an earlier attempt of this very save land? Then the records
 * it stored: all of `pending`, or — when events were raised after that attempt — the
 * first of them (same commit id, fewer events).
 */
async function ourEarlierAttempt(
  ctx: RepositoryContext,
  reg: Registered,
  id: string,
  path: string,
  first: number,
  last: number,
  commit: string,
  pending: Aggregate['pendingEvents'],
): Promise<EventRecord[] | undefined> {
  const bytes = await ctx.codec.fetch(ctx.fileSystem, path, 'batch');
  if (bytes === undefined) return undefined;
  const expected = { type: reg.type, id, first };
  const batch = await ctx.codec.readBatchIf(path, bytes, expected, (h) => h.commit === commit && h.last <= last);
  if (batch === undefined) return undefined;
  // Same commit id: the bytes are ours (a prefix of the pending events); keep the caller's event objects.
  return records(reg, id, batch).map((r, i) => ({
    ...r,
    event: (pending[i] as (typeof pending)[number]).event,
  }));
}

/** The latest stored version, knowing a batch starting at `known` exists. */
async function latestVersion(ctx: RepositoryContext, reg: Registered, id: string, known: number): Promise<number> {
  const folder = eventsFolder(reg.type, id);
  let lastName = batchPath(reg.type, id, known);
  for await (const name of ctx.guarded.list(folder, { startAfter: lastName })) lastName = name;
  const bytes = await ctx.codec.fetch(ctx.fileSystem, lastName, 'batch');
  if (bytes === undefined) return known;
  return ctx.codec.batchHeader(lastName, bytes, { type: reg.type, id }).last;
}

/** What a feed intent records of the batch it follows (see `LoggedBatchInfo.after`). */
function followed(previous: StoredBatch | undefined): { after?: number; afterCommit?: string } {
  if (previous === undefined) return {};
  return previous.commit === undefined
    ? { after: previous.first }
    : { after: previous.first, afterCommit: previous.commit };
}

/** The error of a save whose predecessor batch is gone: the store lost data behind the writer's back. */
function lostPredecessor(type: string, id: string, aggregate: Aggregate, cause: unknown): StreamIntegrityError {
  const batch = aggregate[internal].storedBatch() as StoredBatch;
  const missing = (cause as MissingPredecessorError).requires;
  return new StreamIntegrityError('lost', missing, batch.first, batch.last, undefined, {
    cause,
    detail: `${type} ${JSON.stringify(id)} was saved up to version ${batch.last} and this save follows it, but the store no longer holds that batch (a restart that lost recent writes, a deleted file); nothing was saved, the events stay pending — see "When the store loses data" in docs/reference/guarantees.md`,
  });
}

/** `T` with its `readonly` fields writable (for objects built field by field before they are handed out). */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
