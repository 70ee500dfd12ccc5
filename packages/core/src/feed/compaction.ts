import { ErrorCode, isEvsrcError } from '../errors.js';
import { readFile } from '../format/envelope.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import { type FeedEntry, readEntry } from './entry.js';
import { CHUNK, entryPath, type FeedLayout, logFolder, placeOf } from './layout.js';
import { readLayout } from './marker.js';
import { encodeLogSegment, type SegmentEntry, segmentPath } from './segment.js';
import { findHead } from './writer.js';

/*
 * Compaction: a log entry keeps a copy of each batch it logs, for the roll-forward. Once
 * every batch of an entry is decided — its file exists with the logged bytes (committed)
 * or with another save's (lost its race) — the copy is never needed again. Compaction
 * writes what runs of decided entries still say into a segment (create-if-absent), then
 * replaces each of those entries with an empty file: the name stays taken (no writer can
 * ever create that position again, whatever its view of the log), and a reader that finds
 * an empty entry reads its segment. It never breaks a reader in the middle of the log (the
 * segment exists before any entry is emptied; a reader holding the full entry still has it),
 * a roll-forward (an entry with a missing batch file is not decided and stays as it is), or
 * an old checkpoint (positions, indexes and entry ids are kept).
 */

/** Options of {@link compactFeed}. */
export interface CompactOptions {
  /** Only these partitions (default: all). */
  readonly partitions?: readonly number[];
  /** Leave this many newest positions of each log as they are (default 0). */
  readonly keepNewest?: number;
}

/** What a compaction did. */
export interface CompactionResult {
  /** Log entries emptied. */
  readonly entries: number;
  /** Segments written. */
  readonly segments: number;
  /** Bytes of the entries emptied, and of the segments written instead. */
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** Entries left as they are because a batch of theirs is not decided yet (its writer may be alive). */
  readonly undecided: number;
}

const EMPTY = new Uint8Array();

/**
 * Compacts the decided entries of the store's feed (see above). Safe to run at any time,
 * from any process, alongside writers, readers and other compactions.
 */
export async function compactFeed(fs: FileSystem, options: CompactOptions = {}): Promise<CompactionResult> {
  const total = { entries: 0, segments: 0, bytesBefore: 0, bytesAfter: 0, undecided: 0 };
  const layout = await readLayout(fs);
  if (!layout) return total;
  const partitions = options.partitions ?? Array.from({ length: layout.partitions }, (_, p) => p);
  for (const partition of partitions) {
    const done = await compactLog(fs, layout, partition, options.keepNewest ?? 0);
    for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += done[key];
  }
  return total;
}

/** Compacts one partition's log, up to `keepNewest` positions before its head. */
export async function compactLog(
  fs: FileSystem,
  layout: FeedLayout,
  partition: number,
  keepNewest = 0,
): Promise<CompactionResult> {
  const guarded = GuardedFileSystem.of(fs);
  const folder = logFolder(layout, partition);
  const result = { entries: 0, segments: 0, bytesBefore: 0, bytesAfter: 0, undecided: 0 };
  const upTo = (await findHead(fs, folder)) - keepNewest;
  let position = await compactedUpTo(guarded, folder);
  let run: SegmentEntry[] = [];
  const flush = async () => {
    if (run.length === 0) return;
    const first = (run[0] as SegmentEntry).position;
    const last = first + run.length - 1;
    const segment = encodeLogSegment(run);
    try {
      await guarded.create(segmentPath(folder, first, last), segment);
      result.segments++;
      result.bytesAfter += segment.byteLength;
    } catch (error) {
      if (!isEvsrcError(error, ErrorCode.FileExists)) throw error; // another compactor wrote the same run
    }
    for (let p = first; p <= last; p++) await guarded.replace(entryPath(p, folder), EMPTY, { durable: false });
    result.entries += run.length;
    run = [];
  };
  for (position++; position <= upTo; position++) {
    const path = entryPath(position, folder);
    const bytes = await guarded.read(path);
    if (bytes === undefined) break; // a hole: not for compaction to decide (readers report it)
    if (bytes.byteLength > 0) {
      const entry = readEntry(path, bytes, position);
      const decided = await decide(guarded, layout, partition, entry);
      if (!decided) {
        result.undecided++;
        break;
      }
      result.bytesBefore += bytes.byteLength;
      run.push(decided);
    }
    // A segment covers one chunk at most; an entry already empty ends a run.
    if (bytes.byteLength === 0 || (position + 1) % CHUNK === 0) await flush();
  }
  await flush();
  await guarded
    .replace(`${folder}compacted`, new TextEncoder().encode(String(position - 1)), { durable: false })
    .catch(() => undefined);
  return result;
}

/** Where a previous compaction of the log in `folder` got to (a hint: 0 when unknown). */
async function compactedUpTo(fs: GuardedFileSystem, folder: string): Promise<number> {
  const bytes = await fs.read(`${folder}compacted`).catch(() => undefined);
  const text = bytes === undefined ? '' : new TextDecoder().decode(bytes);
  if (!/^\d{1,12}$/.test(text)) return 0;
  // Trust it only while its entry is still there (a store that lost data starts over).
  const hinted = Number(text);
  return hinted > 0 && (await fs.read(entryPath(hinted, folder))) !== undefined ? hinted : 0;
}

/**
 * What an entry still says once each of its batches is decided; `undefined` while one is
 * not (its file is missing, or damaged, or names this very place with other bytes).
 */
async function decide(
  fs: GuardedFileSystem,
  layout: FeedLayout,
  partition: number,
  entry: FeedEntry,
): Promise<SegmentEntry | undefined> {
  const batches: SegmentEntry['batches'][number][] = [];
  for (const [index, logged] of entry.batches.entries()) {
    const stored = await fs.read(logged.path);
    if (stored === undefined) return undefined;
    if (Buffer.from(stored).equals(logged.bytes)) {
      batches.push({ type: logged.type, id: logged.id, first: logged.first });
      continue;
    }
    // Another save's batch, which must name another place: damage is left for readers to report.
    let feed: string | undefined;
    try {
      feed = readFile(logged.path, stored, 'batch').header.feed;
    } catch {
      return undefined;
    }
    if (feed === placeOf(layout, partition, entry.position, index)) return undefined;
    batches.push(null);
  }
  return {
    position: entry.position,
    ...(entry.id === undefined ? {} : { id: entry.id }),
    ...(entry.prev === undefined ? {} : { prev: entry.prev }),
    batches,
  };
}
