// Over 300 lines: one command's walk of the store and the checks it runs on each file it finds.
import { isDeepStrictEqual } from 'node:util';
import {
  type AggregateRegistration,
  type CodecOptions,
  type EncryptionOptions,
  ErrorCode,
  type FileSystem,
  isEvsrcError,
  Repository,
} from '@evsrc/core';
import {
  type FileCodec,
  listAggregateIds,
  listAggregateTypes,
  mapOrdered,
  storedFileCodec,
  versionInName,
} from '@evsrc/core/internals';
import type { Output } from '../output.js';
import { checkFeed, claimOf, type FeedClaim, lost } from './verify-feed.js';

/** One thing wrong in a store, and the file it is about. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

/** Options of {@link verifyStore}. */
export interface VerifyOptions {
  /** Compare snapshots with a replay of the events: none, the newest of each aggregate, or all. Needs `aggregates`. */
  readonly snapshots?: 'none' | 'sample' | 'full';
  /** Registrations of the aggregate types, to replay events (from the user's module). */
  readonly aggregates?: readonly AggregateRegistration[];
  /** Reads in flight (default 8). */
  readonly concurrency?: number;
  /**
   * The keys of an encrypted store. Without them, encrypted files are checked up to their
   * checksums and header (their contents cannot be), and a note says how many.
   */
  readonly encryption?: EncryptionOptions;
  /**
   * Check the change feed's log too (default `true`): positions with none missing, each
   * entry linked to the one before it, logged bytes equal to their batch files, and every
   * batch file that names a place in the log logged there.
   */
  readonly feed?: boolean;
}

/** What {@link verifyStore} found. */
export interface VerifyReport {
  readonly aggregates: number;
  readonly files: number;
  /** Log entries of the change feed read (0 when the store has no feed, or it was not checked). */
  readonly entries: number;
  readonly problems: Problem[];
  /** Files whose checksums hold but whose encrypted contents could not be checked (no key, or forgotten). */
  readonly sealed: number;
}

/** How one verify run reads files: one codec with the given keys, and a count of what it could not decrypt. */
interface Reader {
  readonly codec: FileCodec;
  sealed: number;
  /** The batch files that name a place in the change feed, by path (when the feed is checked). */
  readonly claims: Map<string, FeedClaim> | undefined;
}

/** A key not given, or an aggregate forgotten: the file's checksums held, its contents cannot be read. */
const isSealed = (error: unknown) =>
  isEvsrcError(error, ErrorCode.MissingKey) || isEvsrcError(error, ErrorCode.Forgotten);

interface Found {
  readonly type: string;
  readonly id: string;
  readonly folder: string;
}

const BATCH = /^events\/\d{12}\.batch$/;
const SNAPSHOT = /^snapshots\/\d{12}\.snap$/;
/** The aggregate's wrapped data key (crypto-shredding), beside its events. */
const DATA_KEY = 'data.key';

/**
 * `evsrc verify <url>`: checks every aggregate of a store — every batch and snapshot parses
 * and its checksum holds, headers match their paths, versions are contiguous (a hole names
 * the versions lost and the files around it), snapshots sit on a batch boundary and not
 * beyond the last batch, and (with registrations) agree with a replay of the events — then
 * the change feed's log (see {@link checkFeed}). Reports each problem with its path as it goes.
 */
export async function verifyStore(fs: FileSystem, options: VerifyOptions, out: Output): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const report = (p: Problem) => {
    problems.push(p);
    out.line(`${p.path}: ${p.message}`);
  };
  const found = await findAggregates(fs, report);
  const codecOptions: CodecOptions = options.encryption ? { encryption: options.encryption } : {};
  const claims = options.feed === false ? undefined : new Map<string, FeedClaim>();
  const reader: Reader = { codec: storedFileCodec([], options.encryption, fs), sealed: 0, claims };
  const repository = options.aggregates?.length
    ? new Repository({ fileSystem: fs, aggregates: options.aggregates, onError: () => undefined, codec: codecOptions })
    : undefined;
  if (!repository && options.snapshots && options.snapshots !== 'none') {
    out.note('snapshots are not compared with a replay: pass --aggregates <module> for that');
  }
  const progress = out.progress('verify', found.length);
  let files = 0;
  for (const aggregate of found) {
    files += await verifyAggregate(fs, reader, aggregate, options, repository, report);
    progress.tick();
  }
  progress.stop();
  const feed = claims ? await checkFeed(fs, claims, options.concurrency ?? 8, report, out) : undefined;
  if (feed) {
    const logs = feed.legacy ? '' : ` in ${feed.partitions} partitions`;
    out.note(`change feed: ${feed.entries} log entries, ${feed.batches} logged batches${logs}`);
  }
  if (reader.sealed > 0) {
    out.note(
      `${reader.sealed} encrypted files were checked only up to their checksums and headers: ${
        options.encryption
          ? 'their key is missing or their aggregate was forgotten'
          : 'pass --keys <file> to decrypt them'
      }`,
    );
  }
  return { aggregates: found.length, files, entries: feed?.entries ?? 0, problems, sealed: reader.sealed };
}

async function findAggregates(fs: FileSystem, report: (p: Problem) => void): Promise<Found[]> {
  const found: Found[] = [];
  for await (const type of listAggregateTypes(fs)) {
    if (type.name === undefined) {
      report({ path: type.folder, message: await notAFolder(fs, type.folder, 'aggregate type') });
      continue;
    }
    for await (const id of listAggregateIds(fs, type.folder)) {
      if (id.name === undefined) report({ path: id.folder, message: await notAFolder(fs, id.folder, 'aggregate') });
      else found.push({ type: type.name, id: id.name, folder: id.folder });
    }
  }
  return found;
}

/** Why a name listed where an evsrc folder should be is not one. */
async function notAFolder(fs: FileSystem, path: string, what: string): Promise<string> {
  if (path.endsWith('/')) return `not an evsrc ${what} folder (bad encoding)`;
  const why = await refusal(fs, path);
  return why === undefined ? `not an evsrc ${what} folder but a file` : `not an evsrc ${what} folder: ${why}`;
}

/**
 * Why the store refuses to read a file evsrc did not expect there, if it does (on local
 * disk, a symbolic link, which evsrc does not follow).
 */
async function refusal(fs: FileSystem, path: string): Promise<string | undefined> {
  try {
    await fs.read(path);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Checks one aggregate; returns how many files it read. */
async function verifyAggregate(
  fs: FileSystem,
  reader: Reader,
  { type, id, folder }: Found,
  options: VerifyOptions,
  repository: Repository | undefined,
  report: (p: Problem) => void,
): Promise<number> {
  const batches: string[] = [];
  const snapshots: string[] = [];
  for await (const name of fs.list(folder)) {
    const rest = name.slice(folder.length);
    if (BATCH.test(rest)) batches.push(name);
    else if (SNAPSHOT.test(rest)) snapshots.push(name);
    else if (rest !== DATA_KEY) {
      const why = (await refusal(fs, name)) ?? 'not a batch or snapshot name';
      report({ path: name, message: `unexpected file: ${why}` });
    }
  }
  const stream = await checkBatches(fs, reader, type, id, batches, options.concurrency ?? 8, report);
  // A replay through broken (or undecryptable) batches would only repeat their problems.
  const replay = stream.sound ? repository : undefined;
  await checkSnapshots(fs, reader, { type, id, folder }, snapshots, stream, options, replay, report);
  return batches.length + snapshots.length;
}

/** What the batches of an aggregate hold, as far as they could be read. */
interface Stream {
  /** The versions at which batches end. */
  readonly ends: Set<number>;
  /** Whether every batch was read and checked, with no gap or overlap. */
  readonly sound: boolean;
  /** The last batch: its path and last version, if it could be read (`undefined`: no batch, or unreadable). */
  readonly last: { readonly path: string; readonly version: number } | undefined;
  /** Whether the aggregate has any batch file. */
  readonly any: boolean;
}

/** Checks the batches in order; reports gaps with the versions lost and the files around them. */
async function checkBatches(
  fs: FileSystem,
  reader: Reader,
  type: string,
  id: string,
  paths: readonly string[],
  concurrency: number,
  report: (p: Problem) => void,
): Promise<Stream> {
  const { codec, claims } = reader;
  const ends = new Set<number>();
  let expected: number | undefined = 1;
  let previous: string | undefined;
  let last: Stream['last'];
  let sound = true;
  const claimed = (feed: string | undefined, bytes: Uint8Array) =>
    claims && feed !== undefined ? claimOf(feed, bytes) : undefined;
  const decoded = mapOrdered(toAsync(paths), concurrency, async (path) => {
    try {
      const bytes = await codec.fetch(fs, path, 'batch');
      if (bytes === undefined) return { path, error: 'listed, then gone when read' };
      const first = versionInName(path, '.batch') as number;
      try {
        const batch = await codec.readBatch(path, bytes, { type, id, first });
        return { path, batch, claim: claimed(batch.header.feed, bytes) };
      } catch (error) {
        if (!isSealed(error)) throw error;
        // Checksums and header held (they are checked before decrypting): keep checking the versions.
        const header = codec.batchHeader(path, bytes, { type, id, first });
        return { path, batch: { header }, sealed: true, claim: claimed(header.feed, bytes) };
      }
    } catch (error) {
      return { path, error: error instanceof Error ? error.message : String(error) };
    }
  });
  for await (const result of decoded) {
    if (!result.batch) {
      report({ path: result.path, message: result.error ?? 'unreadable' });
      sound = false;
      expected = undefined; // the unreadable batch's range is unknown: do not report the next one as a gap
      previous = undefined;
      last = undefined;
      continue;
    }
    if (result.sealed) {
      reader.sealed++;
      sound = false;
    }
    if (result.claim) claims?.set(result.path, result.claim);
    const { first, last: lastVersion } = result.batch.header;
    if (expected !== undefined && first !== expected) {
      sound = false;
      if (first < expected) {
        report({
          path: result.path,
          message: `version overlap: expected version ${expected}, the batch starts at ${first}`,
        });
      } else {
        const around = previous ? `between ${previous} and this batch` : 'before this batch, the first one';
        report({
          path: result.path,
          message: `version gap: expected version ${expected}, the batch starts at ${first}: ${lost(
            'version',
            expected,
            first - 1,
          )} (${around})`,
        });
      }
    }
    ends.add(lastVersion);
    expected = lastVersion + 1;
    previous = result.path;
    last = { path: result.path, version: lastVersion };
  }
  return { ends, sound, last, any: paths.length > 0 };
}

async function checkSnapshots(
  fs: FileSystem,
  reader: Reader,
  { type, id, folder }: Found,
  paths: readonly string[],
  stream: Stream,
  options: VerifyOptions,
  repository: Repository | undefined,
  report: (p: Problem) => void,
): Promise<void> {
  const mode = options.snapshots ?? 'sample';
  const registration = options.aggregates?.find((a) => a.aggregate.type === type);
  for (const [index, path] of paths.entries()) {
    const version = versionInName(path, '.snap') as number;
    const snapshot = await readSnapshot(fs, reader, { type, id, version }, path, report);
    if (snapshot === undefined) continue;
    const beyond = await beyondBatches(fs, folder, stream, version);
    if (beyond !== undefined) {
      const after = stream.last ? `the last batch, ${stream.last.path}, ends at version ${beyond}` : 'no batch is left';
      report({
        path,
        message:
          `snapshot at version ${version}, beyond the last batch: ${lost('version', beyond + 1, version)} ` +
          `(${after}; the snapshot proves they were stored)`,
      });
    } else if (!stream.ends.has(version)) {
      report({ path, message: `snapshot at version ${version}, which no batch ends at` });
    }
    const compare = mode === 'full' || (mode === 'sample' && index === paths.length - 1);
    if (compare && repository && registration) {
      await compareWithReplay(repository, registration, id, version, path, snapshot.state, report);
    }
  }
}

/**
 * Whether a snapshot's version is past every batch of the aggregate: the last version the
 * batches hold (0: none), or `undefined` if it is not past them (or the last batch could
 * not be read). A batch saved while verify ran is looked for before saying so.
 */
async function beyondBatches(
  fs: FileSystem,
  folder: string,
  stream: Stream,
  version: number,
): Promise<number | undefined> {
  if (stream.any && stream.last === undefined) return undefined; // the last batch is unreadable: unknown
  if (stream.last && version <= stream.last.version) return undefined;
  const options = stream.last ? { startAfter: stream.last.path, limit: 1 } : { limit: 1 };
  for await (const _ of fs.list(`${folder}events/`, options)) return undefined; // a save landed meanwhile
  return stream.last?.version ?? 0;
}

/** Reads and decodes a snapshot; reports and returns undefined when it cannot. */
async function readSnapshot(
  fs: FileSystem,
  reader: Reader,
  expected: { type: string; id: string; version: number },
  path: string,
  report: (p: Problem) => void,
): Promise<{ state: unknown } | undefined> {
  try {
    const bytes = await reader.codec.fetch(fs, path, 'snapshot');
    if (bytes === undefined) return undefined;
    return { state: (await reader.codec.readSnapshot(path, bytes, expected)).state };
  } catch (error) {
    if (isSealed(error)) {
      reader.sealed++;
      return undefined;
    }
    report({ path, message: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}

/** Replays versions 1..version without snapshots and compares the state with the snapshot's. */
async function compareWithReplay(
  repository: Repository,
  registration: AggregateRegistration,
  id: string,
  version: number,
  path: string,
  state: unknown,
  report: (p: Problem) => void,
): Promise<void> {
  try {
    const replayed = await repository.get(registration.aggregate, id, { version, snapshots: false });
    if (!isDeepStrictEqual(plain(replayed.toSnapshot()), plain(state))) {
      report({ path, message: `snapshot disagrees with a replay of versions 1..${version}` });
    }
  } catch (error) {
    report({ path, message: `cannot replay to compare: ${error instanceof Error ? error.message : String(error)}` });
  }
}

/** Compares states as stored data, whatever the parser kept (Dates, undefined fields). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null));
}

async function* toAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
