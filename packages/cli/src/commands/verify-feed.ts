import { crc32 } from 'node:zlib';
import type { FileSystem } from '@evsrc/core';
import { FEED_FOLDER } from '@evsrc/core/adapter';
import {
  readEntry as decodeFeedEntry,
  entryPath,
  FEED_HEAD_HINT,
  FEED_MARKER,
  type LoggedBatch,
  mapOrdered,
  positionInName,
} from '@evsrc/core/internals';
import type { Output } from '../output.js';
import type { Problem } from './verify.js';

/** A batch file that names its place in the change feed (its header's `feed`), as the aggregate pass found it. */
export interface FeedClaim {
  /** The checkpoint its header names, `"{position}:{index}"`. */
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
}

/** `a–b`, or `a` alone. */
export const span = (a: number, b: number): string => (a === b ? `${a}` : `${a}–${b}`);

/** `versions a–b were lost` (or `version a was`), for `what` = `version`, `log position`, … */
export const lost = (what: string, a: number, b: number): string =>
  a === b ? `${what} ${a} was lost` : `${what}s ${a}–${b} were lost`;

const fingerprint = (bytes: Uint8Array) => ({ size: bytes.byteLength, crc: crc32(bytes) });

/**
 * Checks the change feed's log against itself and against the batch files that name a
 * place in it (`claims`, by path; the matched ones are removed):
 *
 * - positions run 1..head with none missing, and the head hint is not beyond the head;
 * - each entry parses, and its `prev` is the `id` of the entry before it (when both have them);
 * - a logged batch whose file names this very checkpoint holds exactly the logged bytes;
 * - every batch file that names a checkpoint is logged there.
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
  const { hint, marked, positions } = await listLog(fs, report);
  if (!marked && positions.length === 0) {
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
  const unreadable = new Set<number>();
  let previous: { position: number; id: string | undefined } | undefined;
  let expected = 1;
  let batches = 0;
  let pending = 0;
  for await (const entry of mapOrdered(toAsync(positions), concurrency, (p) => readEntry(fs, claims, p))) {
    const { position, path } = entry;
    if (position > expected) reportMissing(expected, position, report);
    expected = position + 1;
    if (!('logged' in entry)) {
      report({ path, message: entry.error });
      unreadable.add(position);
      previous = undefined;
      continue;
    }
    if (previous?.position === position - 1) checkLink(path, position, previous.id, entry.links.prev, report);
    previous = { position, id: entry.links.id };
    for (const [index, batch] of entry.logged.entries()) {
      batches++;
      if (!entry.present[index]) pending++;
      checkLogged(batch, `${position}:${index}`, claims, report);
    }
  }
  const head = positions.at(-1) ?? 0;
  if (hint > head) {
    report({
      path: FEED_HEAD_HINT,
      message: `names position ${hint}, but the log ends at ${head}: ${lost('log position', head + 1, hint)}`,
    });
  }
  await reportUnlogged(fs, claims, new Set(positions), unreadable, head, report);
  if (pending > 0) {
    out.note(`${pending} logged batches have no batch file yet: the next feed reader completes them (roll-forward)`);
  }
  return { entries: positions.length, batches };
}

/** The head hint, whether the feed is marked on, and the positions of the log's entries, in order. */
async function listLog(
  fs: FileSystem,
  report: (p: Problem) => void,
): Promise<{ hint: number; marked: boolean; positions: number[] }> {
  // The hint first: it is written after the entry it names, so it cannot be ahead of the listing below.
  const hintBytes = await fs.read(FEED_HEAD_HINT);
  const hintText = hintBytes === undefined ? '' : new TextDecoder().decode(hintBytes);
  const hint = /^\d{1,12}$/.test(hintText) ? Number(hintText) : 0;
  const marked = (await fs.read(FEED_MARKER)) !== undefined;
  const positions: number[] = [];
  for await (const name of fs.list(FEED_FOLDER)) {
    const position = positionInName(name);
    if (position === undefined) continue; // the marker, the hint
    if (position < 1 || entryPath(position) !== name) {
      report({ path: name, message: 'not where a feed log entry belongs (wrong chunk folder or position)' });
    } else {
      positions.push(position);
    }
  }
  return { hint, marked, positions: positions.sort((a, b) => a - b) };
}

type ReadEntry =
  | { position: number; path: string; error: string }
  | {
      position: number;
      path: string;
      logged: LoggedBatch[];
      links: { readonly id?: string; readonly prev?: string };
      present: boolean[];
    };

/** Reads and decodes one entry, and whether each batch it logs has a file. */
async function readEntry(fs: FileSystem, claims: Map<string, FeedClaim>, position: number): Promise<ReadEntry> {
  const path = entryPath(position);
  try {
    const bytes = await fs.read(path);
    if (bytes === undefined) return { position, path, error: 'listed, then gone when read' };
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

/** Reports the positions `from`..`to` − 1, missing before the entry at `to`. */
function reportMissing(from: number, to: number, report: (p: Problem) => void): void {
  const around = from > 1 ? `between ${entryPath(from - 1)} and ${entryPath(to)}` : `before ${entryPath(to)}`;
  report({
    path: entryPath(from),
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

/** A logged batch against the batch file that names the same checkpoint, if any. */
function checkLogged(
  batch: LoggedBatch,
  checkpoint: string,
  claims: Map<string, FeedClaim>,
  report: (p: Problem) => void,
): void {
  const claim = claims.get(batch.path);
  // No claim: the file is missing (a reader completes it) or holds another save's bytes (a lost race).
  if (claim?.checkpoint !== checkpoint) return;
  claims.delete(batch.path);
  const logged = fingerprint(batch.bytes);
  if (logged.size !== claim.size || logged.crc !== claim.crc) {
    report({
      path: batch.path,
      message: `differs from the bytes logged for it at feed checkpoint ${checkpoint} (${entryPath(
        Number(checkpoint.split(':')[0]),
      )})`,
    });
  }
}

/** Reports the batch files that name a place in the feed where the log does not have them. */
async function reportUnlogged(
  fs: FileSystem,
  claims: Map<string, FeedClaim>,
  positions: ReadonlySet<number>,
  unreadable: ReadonlySet<number>,
  head: number,
  report: (p: Problem) => void,
): Promise<void> {
  const unseen = 'its log entry was lost, so feed readers never see this batch';
  for (const [path, { checkpoint }] of claims) {
    const [position, index] = checkpoint.split(':').map(Number) as [number, number];
    if (unreadable.has(position)) continue; // reported with the entry
    let message: string;
    if (position > head) {
      message = `names feed checkpoint ${checkpoint}, beyond the end of the log (position ${head}): ${unseen}`;
    } else if (!positions.has(position)) {
      message = `names feed checkpoint ${checkpoint}, but the log entry at position ${position} is missing: ${unseen}`;
    } else {
      // The entry at that position logs something else: read it again to say what.
      const entry = entryPath(position);
      const bytes = await fs.read(entry);
      const there = bytes === undefined ? undefined : decodeFeedEntry(entry, bytes, position).batches[index];
      const versions = there && (there.first === there.last ? 'version' : 'versions');
      const what = there ? `${versions} ${span(there.first, there.last)} of ${there.type} ${there.id}` : 'nothing';
      message =
        `names feed checkpoint ${checkpoint}, but the log entry at position ${position} logs ${what} there: ` +
        `the entry was lost and its position taken again by another save, so feed readers never see this batch`;
    }
    report({ path, message });
  }
}

/** The length and CRC-32 of a batch file, for {@link FeedClaim}. */
export const claimOf = (checkpoint: string, bytes: Uint8Array): FeedClaim => ({ checkpoint, ...fingerprint(bytes) });

async function* toAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
