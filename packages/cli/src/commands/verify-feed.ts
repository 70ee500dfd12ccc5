// Over 300 lines: one command's walk of the feed's logs (entries, compacted entries, links, hints, places) and the report of each finding; split, each part would pass the same state around.
import { crc32 } from 'node:zlib';
import type { FileSystem } from '@evsrc/core';
import { FEED_FOLDER } from '@evsrc/core/adapter';
import {
  batchPath,
  readEntry as decodeFeedEntry,
  decodeMarker,
  entryPath,
  FEED_MARKER,
  type FeedLayout,
  headHintPath,
  LEGACY_LAYOUT,
  type LoggedBatch,
  logFolder,
  mapOrdered,
  placeOf,
  positionInName,
  type SegmentEntry,
  SegmentIndex,
} from '@evsrc/core/internals';
import type { Output } from '../output.js';
import type { Problem } from './verify.js';

/** A batch file that names its place in the change feed (its header's `feed`), as the aggregate pass found it. */
export interface FeedClaim {
  /** The place its header names: `"{partition}/{position}:{index}"`, or `"{position}:{index}"` in a feed of one log. */
  readonly checkpoint: string;
  /** The file's length and CRC-32, to compare with the bytes logged for it. */
  readonly size: number;
  readonly crc: number;
}

/** What the feed check read. */
export interface FeedCheck {
  /** Log entries read. */
  readonly entries: number;
  /** Batches they log. */
  readonly batches: number;
  /** Logs (partitions) of the feed, and whether it is the one log of a store whose feed predates partitions. */
  readonly partitions: number;
  readonly legacy: boolean;
}

/** `a–b`, or `a` alone. */
export const span = (a: number, b: number): string => (a === b ? `${a}` : `${a}–${b}`);

/** `versions a–b were lost` (or `version a was`), for `what` = `version`, `log position`, … */
export const lost = (what: string, a: number, b: number): string =>
  a === b ? `${what} ${a} was lost` : `${what}s ${a}–${b} were lost`;

const fingerprint = (bytes: Uint8Array) => ({ size: bytes.byteLength, crc: crc32(bytes) });

/**
 * Checks each log of the change feed (one per partition, as its marker says; one for a
 * store whose feed predates partitions) against itself and against the batch files that
 * name a place in it (`claims`, by path; the matched ones are removed):
 *
 * - each log's positions run 1..head with none missing, and its head hint is not beyond its head;
 * - each entry parses, and its `prev` is the `id` of the entry before it in its log (when both have them);
 * - a logged batch whose file names this very place holds exactly the logged bytes;
 * - every batch file that names a place is logged there.
 *
 * A logged batch whose file is missing is not a problem: the next reader completes it. Its
 * file holding another save's bytes is a save that lost a race. Returns `undefined` when
 * the store has no feed (a problem if batch files name places in one).
 */
export async function checkFeed(
  fs: FileSystem,
  claims: Map<string, FeedClaim>,
  concurrency: number,
  report: (p: Problem) => void,
  out: Output,
): Promise<FeedCheck | undefined> {
  const { layout, marked, logs } = await listLogs(fs, report);
  if (!marked && logs.every((log) => log.positions.length === 0)) {
    const [first] = claims;
    if (first) {
      report({
        path: FEED_FOLDER,
        message:
          `missing: ${claims.size} batch files name a place in the change feed (the first: ${first[0]} at ` +
          `${first[1].checkpoint}), but the store has no feed: the whole log was lost`,
      });
    }
    return undefined;
  }
  let entries = 0;
  let batches = 0;
  let pending = 0;
  for (const log of logs) {
    const read = await checkLog(fs, layout, log, claims, concurrency, report);
    entries += log.positions.length;
    batches += read.batches;
    pending += read.pending;
  }
  await reportUnlogged(fs, layout, logs, claims, report);
  if (pending > 0) {
    out.note(`${pending} logged batches have no batch file yet: the next feed reader completes them (roll-forward)`);
  }
  return { entries, batches, partitions: layout.partitions, legacy: layout.legacy };
}

/** One partition's log, as listed. */
interface Log {
  readonly partition: number;
  /** The log's folder (with trailing `/`). */
  readonly folder: string;
  /** Its head hint (0: none). */
  readonly hint: number;
  /** The positions of its entries, in order. */
  readonly positions: number[];
  /** Positions whose entry could not be read (reported with the entry). */
  readonly unreadable: Set<number>;
}

/** Checks one log: positions, links, the head hint, and the logged batches against the files that name them. */
async function checkLog(
  fs: FileSystem,
  layout: FeedLayout,
  log: Log,
  claims: Map<string, FeedClaim>,
  concurrency: number,
  report: (p: Problem) => void,
): Promise<{ batches: number; pending: number }> {
  const { folder, partition, positions } = log;
  let previous: { position: number; id: string | undefined } | undefined;
  let expected = 1;
  let batches = 0;
  let pending = 0;
  const read = (p: number) => readEntry(fs, claims, p, folder);
  for await (const entry of mapOrdered(toAsync(positions), concurrency, read)) {
    const { position, path } = entry;
    if (position > expected) reportMissing(expected, position, folder, report);
    expected = position + 1;
    if ('compacted' in entry) {
      if (previous?.position === position - 1) checkLink(path, position, previous.id, entry.compacted.prev, report);
      previous = { position, id: entry.compacted.id };
      batches += await checkCompacted(fs, entry.compacted, layout, partition, path, claims, report);
      continue;
    }
    if (!('logged' in entry)) {
      report({ path, message: entry.error });
      log.unreadable.add(position);
      previous = undefined;
      continue;
    }
    if (previous?.position === position - 1) checkLink(path, position, previous.id, entry.links.prev, report);
    previous = { position, id: entry.links.id };
    for (const [index, batch] of entry.logged.entries()) {
      batches++;
      if (!entry.present[index]) pending++;
      checkLogged(batch, placeOf(layout, partition, position, index), path, claims, report);
    }
  }
  const head = positions.at(-1) ?? 0;
  if (log.hint > head) {
    report({
      path: headHintPath(folder),
      message: `names position ${log.hint}, but the log ends at ${head}: ${lost('log position', head + 1, log.hint)}`,
    });
  }
  return { batches, pending };
}

/** A log folder's partition in a name under the feed's folder (`p{NNN}/`), if any. */
const PARTITION_FOLDER = /^\.evsrc\/feed\/p(\d{3})\//;

/**
 * The feed's layout (from its marker; when the marker is missing or damaged, from the
 * names found), whether the feed is marked on, and each log's head hint and positions.
 */
async function listLogs(
  fs: FileSystem,
  report: (p: Problem) => void,
): Promise<{ layout: FeedLayout; marked: boolean; logs: Log[] }> {
  const { bytes: markerBytes, layout: marked } = await readMarker(fs, report);
  // The hints first: each is written after the entry it names, so it cannot be ahead of the listing below.
  const hintsRead = new Map<string, number>();
  const hintOf = async (folder: string) => {
    const bytes = await fs.read(headHintPath(folder));
    const text = bytes === undefined ? '' : new TextDecoder().decode(bytes);
    return /^\d{1,12}$/.test(text) ? Number(text) : 0;
  };
  if (marked) {
    const folders = Array.from({ length: marked.partitions }, (_, p) => logFolder(marked, p));
    const hints = await Promise.all(folders.map(hintOf));
    for (const [p, folder] of folders.entries()) hintsRead.set(folder, hints[p] as number);
  }
  const names: string[] = [];
  for await (const name of fs.list(FEED_FOLDER)) if (positionInName(name) !== undefined) names.push(name);
  // Without a (readable) marker: the layout its entries were written in.
  const layout = marked ?? inferLayout(names);
  const logs: Log[] = Array.from({ length: layout.partitions }, (_, partition) => {
    const folder = logFolder(layout, partition);
    return { partition, folder, hint: hintsRead.get(folder) ?? 0, positions: [], unreadable: new Set<number>() };
  });
  // (No writer logs without a marker: these hints cannot move between the listing and now.)
  if (!marked) for (const log of logs) (log as { hint: number }).hint = await hintOf(log.folder);
  for (const name of names) {
    const position = positionInName(name) as number;
    const folder = PARTITION_FOLDER.exec(name);
    const partition = layout.legacy || !folder ? 0 : Number(folder[1]);
    const log = logs[partition];
    if (position < 1 || !log || entryPath(position, log.folder) !== name) {
      report({ path: name, message: `not where a feed log entry belongs (${misplaced(layout, log, folder)})` });
    } else {
      log.positions.push(position);
    }
  }
  for (const log of logs) log.positions.sort((a, b) => a - b);
  return { layout, marked: markerBytes !== undefined, logs };
}

/** The marker's bytes and the layout it names (`undefined`, reported, when it names none). */
async function readMarker(
  fs: FileSystem,
  report: (p: Problem) => void,
): Promise<{ bytes: Uint8Array | undefined; layout: FeedLayout | undefined }> {
  const bytes = await fs.read(FEED_MARKER);
  if (bytes === undefined) return { bytes, layout: undefined };
  try {
    return { bytes, layout: decodeMarker(bytes) };
  } catch (error) {
    report({ path: FEED_MARKER, message: error instanceof Error ? error.message : String(error) });
    return { bytes, layout: undefined };
  }
}

/** What is wrong with the place of a log entry's name. */
function misplaced(layout: FeedLayout, log: Log | undefined, folder: RegExpExecArray | null): string {
  if (!log) return `this feed has partitions 0 to ${layout.partitions - 1}`;
  if (layout.legacy && folder) return "this store's feed is one log, directly in .evsrc/feed/";
  if (!layout.legacy && !folder) return `this store's feed is ${layout.partitions} logs, in .evsrc/feed/p{NNN}/`;
  return 'wrong chunk folder or position';
}

/** The layout of a store whose marker is missing or unreadable: partitioned when entries are in `p{NNN}/` folders. */
function inferLayout(names: readonly string[]): FeedLayout {
  let highest = -1;
  for (const name of names) {
    const folder = PARTITION_FOLDER.exec(name);
    if (folder) highest = Math.max(highest, Number(folder[1]));
  }
  return highest < 0 ? LEGACY_LAYOUT : { partitions: highest + 1, legacy: false };
}

type ReadEntry =
  | { position: number; path: string; error: string }
  | { position: number; path: string; compacted: SegmentEntry }
  | {
      position: number;
      path: string;
      logged: LoggedBatch[];
      links: { readonly id?: string; readonly prev?: string };
      present: boolean[];
    };

/** Reads and decodes one entry of the log in `folder`, and whether each batch it logs has a file. */
async function readEntry(
  fs: FileSystem,
  claims: Map<string, FeedClaim>,
  position: number,
  folder: string,
): Promise<ReadEntry> {
  const path = entryPath(position, folder);
  try {
    const bytes = await fs.read(path);
    if (bytes === undefined) return { position, path, error: 'listed, then gone when read' };
    // Compacted (an empty file): what it said is in the segment covering it.
    if (bytes.byteLength === 0) return { position, path, compacted: await segments(fs).entryAt(folder, position) };
    const entry = decodeFeedEntry(path, bytes, position);
    const logged = entry.batches;
    const links = { ...(entry.id ? { id: entry.id } : {}), ...(entry.prev ? { prev: entry.prev } : {}) };
    // A batch file is read only when no claim says it exists (a lost race, or a missing file).
    const present = await Promise.all(
      logged.map((b) => (claims.has(b.path) ? true : fs.read(b.path).then((f) => f !== undefined))),
    );
    return { position, path, logged, links, present };
  } catch (error) {
    return { position, path, error: error instanceof Error ? error.message : String(error) };
  }
}

/** One segment reader per store checked (segments are cached by it). */
const segmentReaders = new WeakMap<FileSystem, SegmentIndex>();
function segments(fs: FileSystem): SegmentIndex {
  let index = segmentReaders.get(fs);
  if (!index) {
    index = new SegmentIndex(fs);
    segmentReaders.set(fs, index);
  }
  return index;
}

/**
 * A compacted entry: each batch it says was committed must be in a file that names this
 * place (its bytes are no longer logged to compare). Returns the batches it logs.
 */
async function checkCompacted(
  fs: FileSystem,
  entry: SegmentEntry,
  layout: FeedLayout,
  partition: number,
  path: string,
  claims: Map<string, FeedClaim>,
  report: (p: Problem) => void,
): Promise<number> {
  for (const [index, ref] of entry.batches.entries()) {
    if (ref === null) continue; // lost its race: the file holds another save's batch
    const place = placeOf(layout, partition, entry.position, index);
    const batchFile = batchPath(ref.type, ref.id, ref.first);
    if (claims.get(batchFile)?.checkpoint === place) {
      claims.delete(batchFile);
      continue;
    }
    const exists = (await fs.read(batchFile)) !== undefined;
    report({
      path: batchFile,
      message: exists
        ? `does not name feed place ${place}, where its compacted log entry (${path}) says it was committed`
        : `is gone: its compacted log entry (${path}) says it was committed at feed place ${place}`,
    });
  }
  return entry.batches.length;
}

/** Reports the positions `from`..`to` − 1 of the log in `folder`, missing before the entry at `to`. */
function reportMissing(from: number, to: number, folder: string, report: (p: Problem) => void): void {
  const at = (position: number) => entryPath(position, folder);
  const around = from > 1 ? `between ${at(from - 1)} and ${at(to)}` : `before ${at(to)}`;
  report({
    path: at(from),
    message:
      `missing: ${lost('log position', from, to - 1)} (${around}); ` +
      `feed readers stop at position ${from} and never read past it`,
  });
}

/** The entry at `position` must name the entry before it (`previousId`) as its `prev`, when both fields exist. */
function checkLink(
  path: string,
  position: number,
  previousId: string | undefined,
  prev: string | undefined,
  report: (p: Problem) => void,
): void {
  if (previousId === undefined || prev === undefined || prev === previousId) return;
  report({
    path,
    message:
      `was written after an entry with id ${prev}, but the entry at position ${position - 1} has id ` +
      `${previousId}: position ${position - 1} was lost and taken again by another save (a reader that had ` +
      'read the lost entry never sees the batches logged there now)',
  });
}

/** A logged batch (at `place`, in the entry at `entry`) against the batch file that names the same place, if any. */
function checkLogged(
  batch: LoggedBatch,
  place: string,
  entry: string,
  claims: Map<string, FeedClaim>,
  report: (p: Problem) => void,
): void {
  const claim = claims.get(batch.path);
  // No claim: the file is missing (a reader completes it) or holds another save's bytes (a lost race).
  if (claim?.checkpoint !== place) return;
  claims.delete(batch.path);
  const logged = fingerprint(batch.bytes);
  if (logged.size !== claim.size || logged.crc !== claim.crc) {
    report({
      path: batch.path,
      message: `differs from the bytes logged for it at feed checkpoint ${place} (${entry})`,
    });
  }
}

/** A place a batch header names (`"{position}:{index}"`, or `"{partition}/{position}:{index}"` in a partitioned feed). */
function parsePlace(
  place: string,
  layout: FeedLayout,
): { partition: number; position: number; index: number } | undefined {
  const match = (layout.legacy ? /^()(\d{1,12}):(\d{1,6})$/ : /^(\d{1,3})\/(\d{1,12}):(\d{1,6})$/).exec(place);
  if (!match) return undefined;
  const at = { partition: Number(match[1] || 0), position: Number(match[2]), index: Number(match[3]) };
  return at.partition < layout.partitions ? at : undefined;
}

/** Reports the batch files that name a place in the feed where its logs do not have them. */
async function reportUnlogged(
  fs: FileSystem,
  layout: FeedLayout,
  logs: readonly Log[],
  claims: Map<string, FeedClaim>,
  report: (p: Problem) => void,
): Promise<void> {
  for (const [path, { checkpoint }] of claims) {
    const place = parsePlace(checkpoint, layout);
    if (!place) {
      const shape = layout.legacy
        ? 'one log ("position:index")'
        : `${layout.partitions} logs ("partition/position:index")`;
      report({
        path,
        message: `names feed checkpoint ${checkpoint}, not a place in this store's feed of ${shape}: feed readers never see this batch`,
      });
      continue;
    }
    const log = logs[place.partition] as Log;
    if (log.unreadable.has(place.position)) continue; // reported with the entry
    report({ path, message: await unloggedMessage(fs, layout, log, checkpoint, place) });
  }
}

/** What a batch file naming `place`, which its log does not have there, lost. */
async function unloggedMessage(
  fs: FileSystem,
  layout: FeedLayout,
  log: Log,
  checkpoint: string,
  { position, index }: { position: number; index: number },
): Promise<string> {
  const unseen = 'its log entry was lost, so feed readers never see this batch';
  // Which log, in a partitioned feed (the messages of a one-log feed are kept as they were).
  const ofLog = layout.legacy ? '' : ` of partition ${log.partition} (${log.folder})`;
  const head = log.positions.at(-1) ?? 0;
  if (position > head) {
    return `names feed checkpoint ${checkpoint}, beyond the end of the log${ofLog} (position ${head}): ${unseen}`;
  }
  const entry = entryPath(position, log.folder);
  if (!log.positions.includes(position)) {
    const named = layout.legacy ? '' : ` (${entry})`;
    return `names feed checkpoint ${checkpoint}, but the log entry at position ${position}${ofLog} is missing${named}: ${unseen}`;
  }
  // The entry at that position logs something else: read it again to say what.
  const bytes = await fs.read(entry);
  const there = bytes === undefined ? undefined : decodeFeedEntry(entry, bytes, position).batches[index];
  const versions = there && (there.first === there.last ? 'version' : 'versions');
  const what = there ? `${versions} ${span(there.first, there.last)} of ${there.type} ${there.id}` : 'nothing';
  return (
    `names feed checkpoint ${checkpoint}, but the log entry at position ${position}${ofLog} logs ${what} there: ` +
    'the entry was lost and its position taken again by another save, so feed readers never see this batch'
  );
}

/** The length and CRC-32 of a batch file, for {@link FeedClaim}. */
export const claimOf = (checkpoint: string, bytes: Uint8Array): FeedClaim => ({ checkpoint, ...fingerprint(bytes) });

async function* toAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
