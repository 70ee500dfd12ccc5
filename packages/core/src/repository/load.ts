import { AggregateNotFoundError, CorruptFileError, ErrorCode, isEvsrcError } from '../errors.js';
import { snapshotsFolder, versionInName } from '../format/layout.js';
import { type Aggregate, internal } from '../model/aggregate.js';
import type { StoredEvent } from '../model/event-record.js';
import { type LoadBounds, loadBounds } from './as-of.js';
import { MisalignedSnapshotError, type SnapshotAnchor } from './batch-reader.js';
import { batches, cacheKey, type RepositoryContext, remember } from './context.js';
import type { AsOf } from './options.js';
import type { Registered } from './registry.js';

/** Loads an aggregate (as of `asOf`), or `undefined` when nothing is stored (see `Repository.get`). */
export async function load(
  ctx: RepositoryContext,
  reg: Registered,
  id: string,
  asOf: AsOf | undefined,
): Promise<Aggregate | undefined> {
  const bounds = loadBounds(asOf);
  const aggregate = await loadFromStart(ctx, reg, id, bounds);
  if (aggregate.version === 0) return undefined;
  if (asOf?.version !== undefined && aggregate.version !== asOf.version) {
    const detail = `version ${asOf.version} does not exist; the latest is ${aggregate.version}`;
    throw new AggregateNotFoundError(reg.type, id, detail);
  }
  if (!bounds.timeTravel) remember(ctx, reg, aggregate);
  return aggregate;
}

/**
 * The aggregate built from its best starting point — the cached state (current loads
 * only), else the newest snapshot within the bounds that ends a stored batch, else
 * nothing — and the batches after it.
 */
async function loadFromStart(
  ctx: RepositoryContext,
  reg: Registered,
  id: string,
  bounds: LoadBounds,
): Promise<Aggregate> {
  if (!bounds.useSnapshots) return replay(ctx, reg, id, new reg.aggregate(id), bounds);
  const cached = bounds.timeTravel ? undefined : ctx.cache?.get(cacheKey(reg.type, id));
  if (cached) {
    const aggregate = new reg.aggregate(id);
    aggregate.restoreSnapshot(structuredClone(cached.state));
    aggregate[internal].restored(cached.version, cached.timestamp);
    aggregate[internal].setStoredBatch(cached.batch);
    return replay(ctx, reg, id, aggregate, bounds);
  }
  for (const snapshot of await snapshots(ctx, reg, id, bounds.toVersion)) {
    const restored = await restore(ctx, reg, id, snapshot, bounds.toTime);
    if (!restored) continue;
    try {
      return await replay(ctx, reg, id, restored.aggregate, bounds, restored.anchor);
    } catch (error) {
      // A snapshot that does not end a stored batch is derived data gone wrong: report it, rebuild without it.
      if (!(error instanceof MisalignedSnapshotError)) throw error;
      ctx.onError(error, { operation: 'snapshot-read', aggregateType: reg.type, aggregateId: id });
    }
  }
  return replay(ctx, reg, id, new reg.aggregate(id), bounds);
}

/** Applies the batches after the aggregate's version, within the bounds (straight from the decoded batch to applyOn). */
async function replay(
  ctx: RepositoryContext,
  reg: Registered,
  id: string,
  aggregate: Aggregate,
  bounds: LoadBounds,
  anchor?: SnapshotAnchor,
): Promise<Aggregate> {
  const inner = aggregate[internal];
  if (aggregate.version >= bounds.toVersion) return aggregate;
  const found = batches(ctx, reg, id, aggregate.version, anchor, (batch) => inner.setStoredBatch(batch));
  outer: for await (const batch of found) {
    const { events, path } = batch;
    const { first, last } = batch.header;
    inner.setStoredBatch({ first, last, commit: batch.header.commit });
    for (let i = 0; i < events.length; i++) {
      const stored = events[i] as StoredEvent;
      const version = first + i;
      if (version > bounds.toVersion || stored.timestamp > bounds.toTime) break outer;
      const event = reg.events.create(stored.type, stored.payload, path, stored.version);
      inner.replay(event, version, stored.timestamp);
    }
  }
  return aggregate;
}

/** The aggregate's snapshots up to `toVersion`, newest first. */
async function snapshots(
  ctx: RepositoryContext,
  reg: Registered,
  id: string,
  toVersion: number,
): Promise<{ path: string; version: number }[]> {
  const folder = snapshotsFolder(reg.type, id);
  const found: { path: string; version: number }[] = [];
  for await (const path of ctx.guarded.list(folder)) {
    const version = versionInName(path, '.snap');
    if (version !== undefined && version <= toVersion && !path.slice(folder.length).includes('/')) {
      found.push({ path, version });
    }
  }
  return found.reverse();
}

/**
 * A new aggregate restored from one snapshot, with what the batches must continue; or
 * `undefined` when it cannot be used (newer than `toTime`, of an unreachable schema, or
 * unreadable: reported).
 */
async function restore(
  ctx: RepositoryContext,
  reg: Registered,
  id: string,
  { path, version }: { path: string; version: number },
  toTime: number,
): Promise<{ aggregate: Aggregate; anchor: SnapshotAnchor } | undefined> {
  try {
    const bytes = await ctx.codec.fetch(ctx.fileSystem, path, 'snapshot');
    if (bytes === undefined) return undefined;
    const snapshot = await ctx.codec.readSnapshot(path, bytes, { type: reg.type, id, version });
    const { header } = snapshot;
    if (header.timestamp > toTime) return undefined;
    // A snapshot of another schema version is upcast when it can be, else ignored (rebuilt from events).
    const schema = header.schema ?? 1;
    if (!reg.snapshotSchema.reaches(schema)) return undefined;
    const aggregate = new reg.aggregate(id);
    const state = reg.snapshotSchema.upcast(snapshot.state, schema, path);
    try {
      aggregate.restoreSnapshot(state);
    } catch (error) {
      if (isEvsrcError(error)) throw error;
      throw new CorruptFileError(path, `restoreSnapshot refused it: ${(error as Error)?.message ?? error}`, error);
    }
    aggregate[internal].restored(version, header.timestamp);
    if (header.batch !== undefined) aggregate[internal].setStoredBatch({ first: header.batch, last: version });
    return {
      aggregate,
      anchor: header.batch === undefined ? { path, version } : { path, version, batch: header.batch },
    };
  } catch (error) {
    // A forgotten aggregate's events are as unreadable as its snapshots: no fallback, no warning.
    if (isEvsrcError(error, ErrorCode.Forgotten)) throw error;
    // Snapshots are derived data: report a bad one and fall back to an older one, or to the events.
    ctx.onError(error, { operation: 'snapshot-read', aggregateType: reg.type, aggregateId: id });
    return undefined;
  }
}
