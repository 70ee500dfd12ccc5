import { type BatchHeader, type FileSystem, Repository } from '@evsrc/core';
import { FEED_FOLDER } from '@evsrc/core/adapter';
import {
  decodeSegment,
  type FeedLayout,
  LEGACY_LAYOUT,
  mapOrdered,
  readLayout,
  readStoredBatches,
  storedFileCodec,
} from '@evsrc/core/internals';
import type { Child } from './child.js';
import { digestOf, Ledger, ledgerType } from './domain.mjs';

/** What {@link auditStore} found. */
export interface Audit {
  /** Files listed (every one was read and decoded). */
  readonly files: number;
  readonly batches: number;
  readonly snapshots: number;
  /** Every batch file that decoded, with its header's feed checkpoint and its tags. */
  readonly batchFiles: readonly BatchFile[];
  /** Files of the change feed's log (`.evsrc/feed/…`): listed, not read here (see feed-audit.ts). */
  readonly feedFiles: number;
  /** The feed's layout, from its marker (one log when there is none): what batch headers' `feed` places are in. */
  readonly feedLayout: FeedLayout;
  /** Each aggregate's tags in version order (`tags[v - 1]` is the tag of version v). */
  readonly tags: ReadonlyMap<string, readonly string[]>;
  /** Everything wrong, each naming the file or aggregate (empty when the store is sound). */
  readonly problems: readonly string[];
}

/** One batch file as {@link auditStore} read it. */
export interface BatchFile {
  readonly path: string;
  readonly id: string;
  readonly first: number;
  readonly last: number;
  /** The checkpoint its header names (written with the feed on). */
  readonly feed: string | undefined;
  readonly tags: readonly string[];
}

/** Where projections keep their states and their consumer groups' files. */
const PROJECTIONS_FOLDER = '.evsrc/projections/';

/**
 * The names listed, but for a projection's stored states and its group's files (checked by
 * projection-audit.ts; consumers running meanwhile create and delete them).
 */
async function* withoutProjections(paths: AsyncIterable<string>): AsyncIterable<string> {
  for await (const path of paths) if (!path.startsWith(PROJECTIONS_FOLDER)) yield path;
}

const FILE = /^ledger\/([^/]+)\/(events|snapshots)\/(\d{12})\.(batch|snap)$/;

interface Found {
  readonly batches: { header: BatchHeader; tags: string[]; path: string }[];
  readonly snapshots: { version: number; state: unknown; path: string }[];
}

/**
 * Reads a whole store of {@link Ledger}s file by file, independently of the repository:
 * every listed name must be a batch or snapshot that reads fully, decodes (header, length,
 * CRC-32, body) and belongs where it is (the change feed's log, under `.evsrc/feed/`, is only
 * counted; projections' files, under `.evsrc/projections/`, are left out); each aggregate's batches must cover versions 1..n
 * with no gap or overlap; each snapshot must hold the state folded from the events up to
 * its version. Then it checks that the library agrees: `readStoredBatches` reads the same
 * stream, and `Repository.get` (snapshot plus later batches) gives the same state.
 */
export async function auditStore(fileSystem: FileSystem): Promise<Audit> {
  const problems: string[] = [];
  const codec = storedFileCodec();
  let files = 0;
  let feedFiles = 0;
  const found = new Map<string, Found>();
  const entry = (id: string) => {
    const known = found.get(id);
    if (known) return known;
    const fresh: Found = { batches: [], snapshots: [] };
    found.set(id, fresh);
    return fresh;
  };
  const read = mapOrdered(withoutProjections(fileSystem.list('')), 16, async (path) => {
    try {
      return { path, bytes: await fileSystem.read(path) };
    } catch (error) {
      return { path, bytes: undefined, error };
    }
  });
  for await (const { path, bytes, error } of read) {
    files++;
    if (path.startsWith(FEED_FOLDER)) {
      feedFiles++;
      continue;
    }
    if (error) {
      problems.push(`${path} is listed but reading it fails: ${(error as Error).message}`);
      continue;
    }
    const match = FILE.exec(path);
    const id = match ? decodeSegment(match[1] as string) : undefined;
    if (!match || id === undefined) {
      problems.push(`unexpected file ${path}`);
      continue;
    }
    if (bytes === undefined) {
      problems.push(`${path} is listed but cannot be read`);
      continue;
    }
    const version = Number(match[3]);
    try {
      if (match[2] === 'events') {
        const batch = codec.decodeBatch(path, bytes, { type: 'ledger', id, first: version });
        const tags = batch.events.map((e) => (e.payload as { tag: string }).tag);
        entry(id).batches.push({ header: batch.header, tags, path });
      } else {
        const snapshot = codec.decodeSnapshot(path, bytes, { type: 'ledger', id, version });
        entry(id).snapshots.push({ version, state: snapshot.state, path });
      }
    } catch (error) {
      problems.push(`${path}: ${(error as Error).message}`);
    }
  }
  const tags = new Map<string, string[]>();
  let batches = 0;
  let snapshots = 0;
  const batchFiles: BatchFile[] = [];
  for (const [id, f] of found) {
    for (const { header, tags, path } of f.batches) {
      batchFiles.push({ path, id, first: header.first, last: header.last, feed: header.feed, tags });
    }
    batches += f.batches.length;
    snapshots += f.snapshots.length;
    tags.set(id, streamOf(id, f, problems));
  }
  await compareWithLibrary(fileSystem, tags, problems);
  const feedLayout = (await readLayout(fileSystem)) ?? LEGACY_LAYOUT;
  return { files, batches, snapshots, batchFiles, feedFiles, feedLayout, tags, problems };
}

/** The tags of one aggregate's batches, checking contiguity and the snapshots. */
function streamOf(id: string, f: Found, problems: string[]): string[] {
  const stream: string[] = [];
  for (const b of f.batches.sort((x, y) => x.header.first - y.header.first)) {
    if (b.header.first !== stream.length + 1) {
      problems.push(`${b.path}: starts at version ${b.header.first}, expected ${stream.length + 1}`);
    }
    stream.push(...b.tags);
  }
  for (const s of f.snapshots) {
    const expected = { count: s.version, digest: digestOf(stream.slice(0, s.version)) };
    const state = s.state as { count?: unknown; digest?: unknown };
    if (s.version > stream.length) problems.push(`${s.path}: a snapshot beyond the last version ${stream.length}`);
    else if (state.count !== expected.count || state.digest !== expected.digest) {
      problems.push(`${s.path}: the snapshot does not match the events up to version ${s.version}`);
    }
  }
  if (stream.length === 0) problems.push(`ledger ${id}: snapshots but no batch`);
  return stream;
}

/** The library reads the same streams: `readStoredBatches` and a repository load (snapshot + batches). */
async function compareWithLibrary(
  fileSystem: FileSystem,
  tags: ReadonlyMap<string, readonly string[]>,
  problems: string[],
): Promise<void> {
  const repository = new Repository({
    fileSystem,
    aggregates: [ledgerType(7)],
    onError: (error, context) => problems.push(`${context.operation} of ${context.aggregateId}: ${error}`),
  });
  for (const [id, stream] of tags) {
    try {
      let versions = 0;
      for await (const batch of readStoredBatches(fileSystem, 'ledger', id)) versions = batch.header.last;
      if (versions !== stream.length)
        problems.push(`readStoredBatches(${id}) ends at ${versions}, not ${stream.length}`);
      const ledger = await repository.get(Ledger, id);
      if (ledger.version !== stream.length || ledger.count !== stream.length || ledger.digest !== digestOf(stream)) {
        problems.push(`Repository.get(${id}) gives version ${ledger.version}, count ${ledger.count}: not the stream`);
      }
    } catch (error) {
      problems.push(`loading ${id}: ${(error as Error).message}`);
    }
  }
}

/** One acknowledged save: `tags` must be stored as versions `first..last` of `id`. */
export interface Ack {
  readonly id: string;
  readonly first: number;
  readonly last: number;
  readonly tags: readonly string[];
}

/** Parses a line `ack <aggregate id> <first version> <last version> <tag,tag,...>` of a writer. */
export function parseAck(line: string): Ack {
  const [, id, first, last, tags] = line.split(' ');
  return { id: id as string, first: Number(first), last: Number(last), tags: (tags as string).split(',') };
}

/** The saves a writer process acknowledged on stdout (complete lines only). */
export const acksOf = (child: Child): Ack[] => child.lines.filter((l) => l.startsWith('ack ')).map(parseAck);

/** The acknowledged saves that the store does not hold exactly (as messages). */
export function missingAcks(acks: Iterable<Ack>, tags: ReadonlyMap<string, readonly string[]>): string[] {
  const missing: string[] = [];
  for (const ack of acks) {
    const stored = tags.get(ack.id)?.slice(ack.first - 1, ack.last) ?? [];
    if (ack.last - ack.first + 1 !== ack.tags.length || stored.join(',') !== ack.tags.join(',')) {
      missing.push(`${ack.id} v${ack.first}..${ack.last} [${ack.tags.join(',')}] stored as [${stored.join(',')}]`);
    }
  }
  return missing;
}
