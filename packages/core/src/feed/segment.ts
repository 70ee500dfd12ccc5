import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Packr } from 'msgpackr';
import { CorruptFileError, UnsupportedFormatError } from '../errors.js';
import { openSealedFile, sealFile } from '../format/envelope.js';
import { chunkFolder, ENTRY_ID } from './layout.js';

/**
 * A segment of a compacted log: what a run of decided log entries (one chunk at most)
 * still has to say once every batch they log is decided — for each position, the entry's
 * id and, for each batch, where it is (`type`, `id`, first version) if it was committed, or
 * nothing if it lost its save. The batch bytes are gone: the batch files hold them.
 *
 * ```text
 * {log folder}{chunk}/{first position, 12 digits}-{last position, 12 digits}.segment
 * ```
 *
 * A sealed header line (`kind: "feed-segment"`, `first`, `last`, `prev` — the id of the
 * entry before `first` —, `types`, CRC-32s), then a body of raw DEFLATE over MessagePack:
 * one item per position, `[entry id as 8 bytes | null, [[type index, aggregate id, first
 * version] | null, …]]` (ids of one store share most of their characters: deflated, a
 * segment costs about 10 bytes per batch).
 *
 * @module
 */

/** A committed batch of a compacted entry: where its file is. */
export interface BatchRef {
  readonly type: string;
  readonly id: string;
  readonly first: number;
}

/** One position of a segment. */
export interface SegmentEntry {
  readonly position: number;
  readonly id?: string;
  readonly prev?: string;
  /** Each batch of the entry, in order: its place when committed, `null` when it lost its save. */
  readonly batches: readonly (BatchRef | null)[];
}

const KIND = 'feed-segment';
const FORMAT = 1;
const packr = new Packr({ useRecords: false });
/** The largest body a segment may inflate to (hostile files: a deflate bomb is refused). */
const MAX_BODY = 16 * 1024 * 1024;

/** The path of the segment covering `first` to `last` of the log in `folder`. */
export function segmentPath(folder: string, first: number, last: number): string {
  return `${chunkFolder(first, folder)}${String(first).padStart(12, '0')}-${String(last).padStart(12, '0')}.segment`;
}

/** The positions a segment's name covers, or `undefined` when the name is not a segment's. */
export function segmentRange(path: string): { first: number; last: number } | undefined {
  const match = /\/(\d{12})-(\d{12})\.segment$/.exec(path);
  return match ? { first: Number(match[1]), last: Number(match[2]) } : undefined;
}

/** Encodes the segment of `entries` (consecutive positions, the first with its `prev`). */
export function encodeLogSegment(entries: readonly SegmentEntry[]): Uint8Array {
  const first = entries[0];
  const last = entries.at(-1);
  if (!first || !last) throw new RangeError('a segment covers at least one position');
  const types: string[] = [];
  const typeIndex = new Map<string, number>();
  const items = entries.map((entry) => [
    entry.id === undefined ? null : Buffer.from(entry.id, 'hex'),
    entry.batches.map((b) => {
      if (b === null) return null;
      let t = typeIndex.get(b.type);
      if (t === undefined) {
        t = types.length;
        types.push(b.type);
        typeIndex.set(b.type, t);
      }
      return [t, b.id, b.first];
    }),
  ]);
  const header = {
    evsrc: FORMAT,
    kind: KIND,
    first: first.position,
    last: last.position,
    ...(first.prev === undefined ? {} : { prev: first.prev }),
    types,
  };
  return sealFile(header, deflateRawSync(packr.pack(items)));
}

/**
 * Decodes and checks the segment read at `path`.
 * @throws {CorruptFileError} naming the path for anything malformed or altered.
 * @throws {UnsupportedFormatError} for a newer segment format.
 */
export function decodeLogSegment(path: string, bytes: Uint8Array): SegmentEntry[] {
  const { header, body } = openSealedFile(path, bytes, 'feed segment');
  const range = segmentRange(path);
  if (header.kind !== KIND)
    throw new CorruptFileError(path, `not a feed segment (kind ${JSON.stringify(header.kind)})`);
  if (!Number.isSafeInteger(header.evsrc) || (header.evsrc as number) > FORMAT) {
    throw new UnsupportedFormatError(path, `feed segment format ${String(header.evsrc)} is newer than ${FORMAT}`);
  }
  const types = header.types;
  if (
    !range ||
    header.first !== range.first ||
    header.last !== range.last ||
    !Array.isArray(types) ||
    !types.every((t) => typeof t === 'string') ||
    (header.prev !== undefined && !(typeof header.prev === 'string' && ENTRY_ID.test(header.prev)))
  ) {
    throw new CorruptFileError(path, 'malformed feed segment header (or not where its name says)');
  }
  let items: unknown;
  try {
    // A segment covers at most 1,000 positions: its items inflate to well under this bound.
    items = packr.unpack(inflateRawSync(body, { maxOutputLength: MAX_BODY }));
  } catch (error) {
    throw new CorruptFileError(path, 'unreadable feed segment body', error);
  }
  if (!Array.isArray(items) || items.length !== range.last - range.first + 1) {
    throw new CorruptFileError(path, 'feed segment body does not cover its positions');
  }
  let prev = header.prev as string | undefined;
  return items.map((item, i) => {
    const position = range.first + i;
    const entry = readItem(path, item, types as string[]);
    const out: SegmentEntry = {
      position,
      ...(entry.id === undefined ? {} : { id: entry.id }),
      ...(prev === undefined ? {} : { prev }),
      batches: entry.batches,
    };
    prev = entry.id;
    return out;
  });
}

function readItem(
  path: string,
  item: unknown,
  types: readonly string[],
): { id?: string; batches: (BatchRef | null)[] } {
  const bad = () => new CorruptFileError(path, 'malformed position in feed segment');
  if (!Array.isArray(item) || item.length !== 2 || !Array.isArray(item[1])) throw bad();
  const [rawId, rawBatches] = item as [unknown, unknown[]];
  let id: string | undefined;
  if (rawId !== null) {
    if (!(rawId instanceof Uint8Array) || rawId.byteLength !== 8) throw bad();
    id = Buffer.from(rawId).toString('hex');
  }
  const batches = rawBatches.map((b): BatchRef | null => {
    if (b === null) return null;
    if (!Array.isArray(b) || b.length !== 3) throw bad();
    const [t, aggregate, first] = b as [unknown, unknown, unknown];
    const type = typeof t === 'number' ? types[t] : undefined;
    if (type === undefined || typeof aggregate !== 'string' || !Number.isSafeInteger(first) || (first as number) < 1) {
      throw bad();
    }
    return { type, id: aggregate, first: first as number };
  });
  return { ...(id === undefined ? {} : { id }), batches };
}
