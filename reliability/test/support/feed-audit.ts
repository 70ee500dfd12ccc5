import { ErrorCode, type FeedBatch, type FeedOptions, type FileSystem, isEvsrcError, Repository } from '@evsrc/core';
import { FEED_FOLDER } from '@evsrc/core/adapter';
import {
  DEFAULT_PARTITIONS,
  decodeEntry,
  encodeMarker,
  entryPath,
  FEED_MARKER,
  type FeedLayout,
  type FeedPosition,
  formatCheckpoint,
  headHintPath,
  isAfter,
  LEGACY_LAYOUT,
  logFolder,
  parseVector,
  partitionOf,
  placeOf as placeIn,
  positionInName,
  readLayout,
  SegmentIndex,
  segmentPath,
  segmentRange,
} from '@evsrc/core/internals';
import type { Ack, Audit } from './audit.js';
import { digestOf, Ledger, ledgerType, type Tagged } from './domain.mjs';
import { closeStore } from './stores.mjs';

/**
 * Checks of the change feed against the store, the writers' acknowledgements and other
 * readers. Each returns the problems it found as messages (empty: sound), so that a test
 * can show them all at once.
 */

/**
 * The layout the feed tests give their store: `EVSRC_FEED_PARTITIONS` logs (default: as
 * many as `feed: true` gives), or, with `legacy`, the one log of a store whose feed was
 * turned on before partitions existed.
 */
export const FEED_LAYOUT: FeedLayout = (() => {
  const text = process.env.EVSRC_FEED_PARTITIONS;
  if (text === 'legacy') return LEGACY_LAYOUT;
  const partitions = text === undefined || text === '' ? DEFAULT_PARTITIONS : Number(text);
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new Error(`EVSRC_FEED_PARTITIONS must be a positive integer or "legacy", got "${text}"`);
  }
  return { partitions, legacy: false };
})();

/** Turns the store's feed on in {@link FEED_LAYOUT}, before its writers (`feed: true`, which keep the store's layout) start. */
export async function turnFeedOn(fileSystem: FileSystem, layout: FeedLayout = FEED_LAYOUT): Promise<void> {
  const marker = layout.legacy ? new TextEncoder().encode('on\n') : encodeMarker(layout.partitions);
  try {
    await fileSystem.create(FEED_MARKER, marker);
  } catch (error) {
    if (!isEvsrcError(error, ErrorCode.FileExists)) throw error;
  }
}

/** The tags of a feed batch's events, in order. */
export const tagsOf = (batch: FeedBatch): string[] => batch.events.map((e) => (e.event as Tagged).tag);

/** One feed batch as a line: what two readers must agree on, field by field. */
export const describeBatch = (b: FeedBatch): string =>
  `${b.checkpoint} ${b.aggregateType}/${b.aggregateId} v${b.firstVersion}..${b.lastVersion} ${b.commit} [${tagsOf(b).join(',')}]`;

/** Opens a client onto the store (a fresh one per call where the backend allows it). */
export type Opener = () => FileSystem;

/**
 * Reads the feed after `from` (default: all of it) with a new repository on a new client:
 * what a process started now would see. Reading completes (rolls forward) logged batches
 * whose file is missing after `rollForwardAfterMs`. `limit` stops after that many batches;
 * `partitions` reads only those partitions' logs.
 */
export async function readFeed(
  open: Opener,
  options: { from?: string; limit?: number; partitions?: readonly number[]; feedReading?: FeedOptions } = {},
): Promise<FeedBatch[]> {
  const fileSystem = open();
  try {
    const repository = new Repository({
      fileSystem,
      aggregates: [ledgerType(7)],
      ...(options.feedReading ? { feedReading: options.feedReading } : {}),
    });
    const batches: FeedBatch[] = [];
    if (options.limit === 0) return batches;
    const read = {
      ...(options.from === undefined ? {} : { from: options.from }),
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
    };
    for await (const batch of repository.feed.read(read)) {
      batches.push(batch);
      if (batches.length === options.limit) break;
    }
    return batches;
  } finally {
    await closeStore(fileSystem);
  }
}

/** The place in its partition's log of a feed batch (`"p/P:i"`, `"P:i"` on a feed of one log), as batch headers name it. */
export const placeOf = (batch: FeedBatch, layout: FeedLayout): string => {
  const { position, index } = parseVector(batch.checkpoint, layout)[batch.partition] as FeedPosition;
  return placeIn(layout, batch.partition, position, index);
};

/**
 * The feed's batches by partition, each as a line with its full place in its partition's
 * log: what any two readers of the same logs must agree on, even a watcher that saw the
 * logs' tails interleaved otherwise.
 */
export function partitionLines(feed: readonly FeedBatch[], layout: FeedLayout): string[][] {
  const lines = Array.from({ length: layout.partitions }, (): string[] => []);
  for (const b of feed) {
    const at = parseVector(b.checkpoint, layout)[b.partition] as FeedPosition;
    lines[b.partition]?.push(
      `${formatCheckpoint(at)} ${b.aggregateType}/${b.aggregateId} v${b.firstVersion}..${b.lastVersion} ${b.commit} [${tagsOf(b).join(',')}]`,
    );
  }
  return lines;
}

/** The store's feed layout, from its marker (one log when there is none). */
export const layoutOf = async (fileSystem: FileSystem): Promise<FeedLayout> =>
  (await readLayout(fileSystem)) ?? LEGACY_LAYOUT;

/**
 * A read of the whole feed is a merge of its logs: each batch's checkpoint is the one
 * before it with only the batch's partition (that of its aggregate) moved, strictly
 * forward; and the places come in the merge's order, by (position, partition), the
 * batches of one entry by index. (On a feed of one log: checkpoints strictly increase.)
 * `merged: false` for a watcher's read, where a log's entries may show up after another
 * log's later ones: then only each partition's own order is checked.
 */
export function checkpointProblems(feed: readonly FeedBatch[], layout: FeedLayout, merged = true): string[] {
  const problems: string[] = [];
  let vector = parseVector(undefined, layout);
  let previous: FeedBatch | undefined;
  const key = (at: FeedPosition, partition: number) => [at.position, partition, at.index];
  for (const batch of feed) {
    const at = describeBatch(batch);
    const p = batch.partition;
    const expected = partitionOf(batch.aggregateType, batch.aggregateId, layout.partitions);
    if (p !== expected) problems.push(`${at}: in partition ${p}, its aggregate's is ${expected}`);
    let next: FeedPosition[];
    try {
      next = parseVector(batch.checkpoint, layout);
    } catch (error) {
      problems.push(`${at}: ${(error as Error).message}`);
      continue;
    }
    const moved = next.flatMap((place, q) => (sameAt(place, vector[q] as FeedPosition) ? [] : [q]));
    if (moved.length !== 1 || moved[0] !== p || !isAfter(next[p] as FeedPosition, vector[p] as FeedPosition)) {
      problems.push(
        `${at}: its checkpoint does not move partition ${p} alone forward from ${previous?.checkpoint ?? 'the start'}`,
      );
    }
    if (merged && previous) {
      const before = key(vector[previous.partition] as FeedPosition, previous.partition);
      const now = key(next[p] as FeedPosition, p);
      const i = now.findIndex((n, j) => n !== before[j]);
      if (i < 0 || (now[i] as number) < (before[i] as number)) {
        problems.push(`${at}: comes after ${previous.checkpoint}, out of the merge's order by (position, partition)`);
      }
    }
    vector = next;
    previous = batch;
  }
  return problems;
}

const sameAt = (a: FeedPosition, b: FeedPosition) => a.position === b.position && a.index === b.index && a.id === b.id;

/**
 * The feed and the store agree exactly: checkpoints move forward in the merge's order
 * (see {@link checkpointProblems}); no batch (aggregate and first version) comes twice;
 * each aggregate's batches come in the order of their versions, 1..n with no gap, and each
 * event carries its version; every batch file of the store is in the feed with the same
 * versions, the same events and, in its header, the place the feed gives it; and every
 * batch of the feed has its file.
 */
export function feedProblems(feed: readonly FeedBatch[], audit: Audit): string[] {
  const layout = audit.feedLayout;
  const problems = checkpointProblems(feed, layout);
  const seen = new Map<string, FeedBatch>();
  const versions = new Map<string, number>();
  for (const batch of feed) {
    const at = describeBatch(batch);
    const key = `${batch.aggregateId}@${batch.firstVersion}`;
    if (seen.has(key))
      problems.push(`${at}: version ${batch.firstVersion} already came at ${seen.get(key)?.checkpoint}`);
    seen.set(key, batch);
    const before = versions.get(batch.aggregateId) ?? 0;
    if (batch.firstVersion !== before + 1) {
      problems.push(`${at}: ${batch.aggregateId} was at version ${before}, this batch starts at ${batch.firstVersion}`);
    }
    versions.set(batch.aggregateId, Math.max(before, batch.lastVersion));
    const expected = Array.from(
      { length: batch.lastVersion - batch.firstVersion + 1 },
      (_, i) => batch.firstVersion + i,
    );
    const actual = batch.events.map((e) => e.version);
    if (actual.join() !== expected.join()) problems.push(`${at}: its events have versions ${actual.join()}`);
  }
  const files = new Set<string>();
  for (const file of audit.batchFiles) {
    const key = `${file.id}@${file.first}`;
    files.add(key);
    const batch = seen.get(key);
    if (!batch) problems.push(`${file.path} is stored but not in the feed`);
    else if (
      batch.lastVersion !== file.last ||
      placeOf(batch, layout) !== file.feed ||
      tagsOf(batch).join(',') !== file.tags.join(',')
    ) {
      problems.push(
        `${file.path} (v${file.first}..${file.last}, feed ${file.feed}, [${file.tags.join(',')}]) differs from the feed's ${describeBatch(batch)}`,
      );
    }
  }
  for (const [key, batch] of seen) {
    if (!files.has(key)) problems.push(`${describeBatch(batch)} is in the feed, but its batch file is not stored`);
  }
  return problems;
}

/**
 * Every acknowledged save is in the feed exactly once, with its versions and events: one
 * batch of its aggregate starts at its first version, ends at its last and holds its tags,
 * and none of its tags appears anywhere else in the feed.
 */
export function ackProblems(acks: readonly Ack[], feed: readonly FeedBatch[]): string[] {
  const problems: string[] = [];
  const byStart = new Map<string, FeedBatch[]>();
  const tagCount = new Map<string, number>();
  for (const batch of feed) {
    const key = `${batch.aggregateId}@${batch.firstVersion}`;
    byStart.set(key, [...(byStart.get(key) ?? []), batch]);
    for (const tag of tagsOf(batch)) tagCount.set(tag, (tagCount.get(tag) ?? 0) + 1);
  }
  for (const ack of acks) {
    const at = `acknowledged ${ack.id} v${ack.first}..${ack.last} [${ack.tags.join(',')}]`;
    const found = byStart.get(`${ack.id}@${ack.first}`) ?? [];
    if (found.length !== 1) problems.push(`${at}: ${found.length} batches of the feed start there`);
    else {
      const batch = found[0] as FeedBatch;
      if (batch.lastVersion !== ack.last || tagsOf(batch).join(',') !== ack.tags.join(',')) {
        problems.push(`${at}: the feed has ${describeBatch(batch)}`);
      }
    }
    for (const tag of ack.tags) {
      if ((tagCount.get(tag) ?? 0) !== 1)
        problems.push(`${at}: tag ${tag} is in the feed ${tagCount.get(tag) ?? 0} times`);
    }
  }
  return problems;
}

/**
 * Other readers agree with `reference` (the feed as a first reader read it): two new
 * readers, reading at the same time, see the same batches in the same order; a reader
 * that stops after `split` batches and resumes from its last checkpoint (in a new
 * repository, as after a restart) sees the rest exactly; reading from the last
 * checkpoint yields nothing.
 */
export async function readerProblems(
  open: Opener,
  reference: readonly FeedBatch[],
  split: number,
  feedReading?: FeedOptions,
): Promise<string[]> {
  const problems: string[] = [];
  const expected = reference.map(describeBatch);
  const options = feedReading ? { feedReading } : {};
  const [one, two] = await Promise.all([readFeed(open, options), readFeed(open, options)]);
  for (const [name, read] of [
    ['a second reader', one],
    ['a third reader', two],
  ] as const) {
    const lines = read.map(describeBatch);
    if (lines.join('\n') !== expected.join('\n')) problems.push(`${name} differs: ${firstDifference(expected, lines)}`);
  }
  const head = await readFeed(open, { ...options, limit: split });
  const from = head.at(-1)?.checkpoint;
  const rest = await readFeed(open, { ...options, ...(from === undefined ? {} : { from }) });
  const resumed = [...head, ...rest].map(describeBatch);
  if (resumed.join('\n') !== expected.join('\n')) {
    problems.push(
      `a reader resuming from ${from ?? 'the start'} (after ${head.length} batches) differs: ${firstDifference(expected, resumed)}`,
    );
  }
  const last = reference.at(-1)?.checkpoint;
  if (last !== undefined) {
    const after = await readFeed(open, { ...options, from: last });
    if (after.length > 0)
      problems.push(`reading from the last checkpoint ${last} yields ${describeBatch(after[0] as FeedBatch)}`);
  }
  return problems;
}

function firstDifference(expected: readonly string[], actual: readonly string[]): string {
  const i = expected.findIndex((line, n) => actual[n] !== line);
  const at = i < 0 ? expected.length : i;
  return `${actual.length} batches instead of ${expected.length}; at ${at}: ${actual[at] ?? '(end)'} instead of ${expected[at] ?? '(end)'}`;
}

/** What the logs themselves hold (read independently of the feed reader). */
export interface LogContents {
  /** Entries, over all logs: positions 1..n of each. */
  readonly entries: number;
  /** Entries that hold more than one batch (a writer's group commit). */
  readonly grouped: number;
  /** Entries compacted (empty files: what they said is in a segment). */
  readonly compacted: number;
  /** Segments of compacted entries, over all logs. */
  readonly segments: number;
  /** Each log's last position (index: partition). */
  readonly heads: readonly number[];
  /**
   * Logged batches, committed or not, as `{checkpoint: their place ("p/P:i", or "P:i" on a
   * feed of one log), id, first}`; a compacted entry's batch that lost its save has id `""`
   * and first 0 (its segment keeps nothing else), and a compacted entry's `commit` is `""`.
   */
  readonly logged: readonly { checkpoint: string; id: string; first: number; commit: string }[];
  readonly problems: readonly string[];
}

/**
 * Lists and decodes every entry of each log of the feed (its layout from the marker):
 * each log's positions must run 1..n with no gap, every entry be in a log of this layout,
 * and every batch be logged in its aggregate's partition.
 */
export async function readLog(fileSystem: FileSystem): Promise<LogContents> {
  const layout = await layoutOf(fileSystem);
  const problems: string[] = [];
  const folders = Array.from({ length: layout.partitions }, (_, p) => logFolder(layout, p));
  const expected = new Set([
    `${FEED_FOLDER}enabled`,
    ...folders.map((folder) => headHintPath(folder)),
    ...(layout.legacy ? [] : [`${FEED_FOLDER}bell/ring`]),
  ]);
  const positions = folders.map((): number[] => []);
  let segments = 0;
  for await (const path of fileSystem.list(FEED_FOLDER)) {
    const position = positionInName(path);
    const partition = position === undefined ? -1 : folders.findIndex((f) => entryPath(position, f) === path);
    const range = segmentRange(path);
    if (partition >= 0) positions[partition]?.push(position as number);
    else if (range && folders.some((f) => segmentPath(f, range.first, range.last) === path)) segments++;
    // Where a compaction of the log got to (a hint).
    else if (folders.some((f) => path === `${f}compacted`)) continue;
    else if (!expected.has(path)) problems.push(`unexpected file in the log: ${path}`);
  }
  const logged: Logged[] = [];
  const counts = { grouped: 0, compacted: 0 };
  const index = new SegmentIndex(fileSystem);
  for (const [partition, found] of positions.entries()) {
    await readOneLog(fileSystem, index, layout, partition, found, logged, problems, counts);
  }
  const heads = positions.map((found) => found.at(-1) ?? 0);
  return {
    entries: positions.reduce((n, found) => n + found.length, 0),
    ...counts,
    segments,
    heads,
    logged,
    problems,
  };
}

type Logged = LogContents['logged'][number];

/**
 * Reads the entries of one partition's log (`found`, its positions), adding to `logged` and
 * `problems`, and counting in `counts` the entries holding several batches and the
 * compacted ones (an empty entry: what it said is read from its segment, which must cover it).
 */
async function readOneLog(
  fileSystem: FileSystem,
  segments: SegmentIndex,
  layout: FeedLayout,
  partition: number,
  found: number[],
  logged: Logged[],
  problems: string[],
  counts: { grouped: number; compacted: number },
): Promise<void> {
  found.sort((a, b) => a - b);
  const folder = logFolder(layout, partition);
  const gap = found.findIndex((position, i) => position !== i + 1);
  if (gap >= 0) problems.push(`the log's position ${gap + 1} is missing (next: ${found[gap]}) in ${folder}`);
  const entries = await Promise.all(
    found.map(async (position) => {
      const path = entryPath(position, folder);
      const bytes = await fileSystem.read(path);
      if (bytes === undefined) throw new Error(`${path} is listed but missing`);
      if (bytes.byteLength > 0)
        return { position, path, compacted: false, batches: decodeEntry(path, bytes, position) };
      return { position, path, compacted: true, batches: [] };
    }),
  );
  for (const entry of entries) {
    const { position, path } = entry;
    if (entry.compacted) counts.compacted++;
    const batches = entry.compacted ? await compactedBatches(segments, folder, position, problems) : entry.batches;
    if (batches.length > 1) counts.grouped++;
    for (const [index, b] of batches.entries()) {
      logged.push({
        checkpoint: placeIn(layout, partition, position, index),
        id: b?.id ?? '',
        first: b?.first ?? 0,
        commit: b?.commit ?? '',
      });
      if (b === null) continue;
      const own = partitionOf(b.type, b.id, layout.partitions);
      if (own !== partition) problems.push(`${path} logs ${b.type} ${b.id} v${b.first}, of partition ${own}`);
    }
  }
}

type LoggedBatch = { type: string; id: string; first: number; commit: string } | null;

/** What the compacted entry at `position` of the log in `folder` logged, from its segment (none, and a problem, when no segment says). */
async function compactedBatches(
  segments: SegmentIndex,
  folder: string,
  position: number,
  problems: string[],
): Promise<readonly LoggedBatch[]> {
  try {
    const said = await segments.entryAt(folder, position);
    if (said.position !== position)
      problems.push(`${entryPath(position, folder)}: its segment gives position ${said.position}`);
    return said.batches.map((b) => (b === null ? null : { ...b, commit: '' }));
  } catch (error) {
    problems.push(`${entryPath(position, folder)} is compacted: ${(error as Error).message}`);
    return [];
  }
}

/** `Repository.get` agrees with the feed: each aggregate's version, count and digest are its batches' in feed order. */
export async function repositoryProblems(fileSystem: FileSystem, feed: readonly FeedBatch[]): Promise<string[]> {
  const problems: string[] = [];
  const streams = new Map<string, { version: number; tags: string[] }>();
  for (const batch of feed) {
    const stream = streams.get(batch.aggregateId) ?? { version: 0, tags: [] };
    stream.version = batch.lastVersion;
    stream.tags.push(...tagsOf(batch));
    streams.set(batch.aggregateId, stream);
  }
  const repository = new Repository({ fileSystem, aggregates: [ledgerType(7)] });
  for (const [id, { version, tags }] of streams) {
    const ledger = await repository.get(Ledger, id);
    if (ledger.version !== version || ledger.count !== tags.length || ledger.digest !== digestOf(tags)) {
      problems.push(
        `Repository.get(${id}) gives version ${ledger.version} (${ledger.count} events), the feed ends at ${version} (${tags.length})`,
      );
    }
  }
  return problems;
}
