import { type FeedBatch, type FeedOptions, type FileSystem, Repository } from '@evsrc/core';
import { FEED_FOLDER } from '@evsrc/core/adapter';
import {
  decodeEntry,
  entryPath,
  formatCheckpoint,
  isAfter,
  parseCheckpoint,
  positionInName,
} from '@evsrc/core/internals';
import type { Ack, Audit } from './audit.js';
import { digestOf, Ledger, ledgerType, type Tagged } from './domain.mjs';
import { closeStore } from './stores.mjs';

/**
 * Checks of the change feed against the store, the writers' acknowledgements and other
 * readers. Each returns the problems it found as messages (empty: sound), so that a test
 * can show them all at once.
 */

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
 * whose file is missing after `rollForwardAfterMs`. `limit` stops after that many batches.
 */
export async function readFeed(
  open: Opener,
  options: { from?: string; limit?: number; feedReading?: FeedOptions } = {},
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
    for await (const batch of repository.feed.read(options.from === undefined ? {} : { from: options.from })) {
      batches.push(batch);
      if (batches.length === options.limit) break;
    }
    return batches;
  } finally {
    await closeStore(fileSystem);
  }
}

/**
 * The feed and the store agree exactly: checkpoints strictly increase; no batch (aggregate
 * and first version) comes twice; each aggregate's batches come in the order of their
 * versions, 1..n with no gap, and each event carries its version; every batch file of the
 * store is in the feed with the same versions, the same events and, in its header, the
 * checkpoint the feed gives it; and every batch of the feed has its file.
 */
/** A checkpoint's place in the log (`"P:i"`, as batch headers name it), without the entry id. */
export const placeOf = (checkpoint: string): string => {
  const { position, index } = parseCheckpoint(checkpoint);
  return formatCheckpoint({ position, index });
};

export function feedProblems(feed: readonly FeedBatch[], audit: Audit): string[] {
  const problems: string[] = [];
  const seen = new Map<string, FeedBatch>();
  const versions = new Map<string, number>();
  let previous: FeedBatch | undefined;
  for (const batch of feed) {
    const at = describeBatch(batch);
    if (previous && !isAfter(parseCheckpoint(batch.checkpoint), parseCheckpoint(previous.checkpoint))) {
      problems.push(`${at}: its checkpoint does not come after ${previous.checkpoint}`);
    }
    previous = batch;
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
      placeOf(batch.checkpoint) !== file.feed ||
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

/** What the log itself holds (read independently of the feed reader). */
export interface LogContents {
  /** Entries: positions 1..entries. */
  readonly entries: number;
  /** Entries that hold more than one batch (a writer's group commit). */
  readonly grouped: number;
  /** Logged batches, committed or not, as `{checkpoint, id, first}`. */
  readonly logged: readonly { checkpoint: string; id: string; first: number; commit: string }[];
  readonly problems: readonly string[];
}

/** Lists and decodes every entry of the log: positions must run 1..n with no gap. */
export async function readLog(fileSystem: FileSystem): Promise<LogContents> {
  const problems: string[] = [];
  const positions: number[] = [];
  for await (const path of fileSystem.list(FEED_FOLDER)) {
    const position = positionInName(path);
    if (position !== undefined) positions.push(position);
    else if (!/\.evsrc\/feed\/(enabled|head)$/.test(path)) problems.push(`unexpected file in the log: ${path}`);
  }
  positions.sort((a, b) => a - b);
  const logged: { checkpoint: string; id: string; first: number; commit: string }[] = [];
  for (const [i, position] of positions.entries()) {
    if (position !== i + 1) {
      problems.push(`the log's position ${i + 1} is missing (next: ${position})`);
      break;
    }
  }
  const entries = await Promise.all(
    positions.map(async (position) => {
      const path = entryPath(position);
      const bytes = await fileSystem.read(path);
      if (bytes === undefined) throw new Error(`${path} is listed but missing`);
      return { position, batches: decodeEntry(path, bytes, position) };
    }),
  );
  let grouped = 0;
  for (const { position, batches } of entries) {
    if (batches.length > 1) grouped++;
    for (const [index, b] of batches.entries()) {
      logged.push({ checkpoint: formatCheckpoint({ position, index }), id: b.id, first: b.first, commit: b.commit });
    }
  }
  return { entries: positions.length, grouped, logged, problems };
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
