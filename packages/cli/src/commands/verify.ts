import { isDeepStrictEqual } from 'node:util';
import {
  type AggregateRegistration,
  type CodecOptions,
  type EncryptionOptions,
  ErrorCode,
  type FileCodec,
  type FileSystem,
  isEvsrcError,
  listAggregateIds,
  listAggregateTypes,
  mapOrdered,
  Repository,
  storedFileCodec,
  versionInName,
} from '@evsrc/core';
import type { Output } from '../output.js';

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
}

/** What {@link verifyStore} found. */
export interface VerifyReport {
  readonly aggregates: number;
  readonly files: number;
  readonly problems: Problem[];
  /** Files whose checksums hold but whose encrypted contents could not be checked (no key, or forgotten). */
  readonly sealed: number;
}

/** How one verify run reads files: one codec with the given keys, and a count of what it could not decrypt. */
interface Reader {
  readonly codec: FileCodec;
  sealed: number;
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
 * and its checksum holds, headers match their paths, versions are contiguous, snapshots
 * sit on a batch boundary and (with registrations) agree with a replay of the events.
 * Reports each problem with its path as it goes.
 */
export async function verifyStore(fs: FileSystem, options: VerifyOptions, out: Output): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const report = (p: Problem) => {
    problems.push(p);
    out.line(`${p.path}: ${p.message}`);
  };
  const found = await findAggregates(fs, report);
  const codecOptions: CodecOptions = options.encryption ? { encryption: options.encryption } : {};
  const reader: Reader = { codec: storedFileCodec([], options.encryption, fs), sealed: 0 };
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
  if (reader.sealed > 0) {
    out.note(
      `${reader.sealed} encrypted files were checked only up to their checksums and headers: ${
        options.encryption
          ? 'their key is missing or their aggregate was forgotten'
          : 'pass --keys <file> to decrypt them'
      }`,
    );
  }
  return { aggregates: found.length, files, problems, sealed: reader.sealed };
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
  const { ends, sound } = await checkBatches(fs, reader, type, id, batches, options.concurrency ?? 8, report);
  // A replay through broken (or undecryptable) batches would only repeat their problems.
  await checkSnapshots(fs, reader, type, id, snapshots, ends, options, sound ? repository : undefined, report);
  return batches.length + snapshots.length;
}

/** Checks the batches in order; returns the versions at which batches end, and whether all were sound. */
async function checkBatches(
  fs: FileSystem,
  reader: Reader,
  type: string,
  id: string,
  paths: readonly string[],
  concurrency: number,
  report: (p: Problem) => void,
): Promise<{ ends: Set<number>; sound: boolean }> {
  const { codec } = reader;
  const ends = new Set<number>();
  let expected: number | undefined = 1;
  let sound = true;
  const decoded = mapOrdered(toAsync(paths), concurrency, async (path) => {
    try {
      const bytes = await codec.fetch(fs, path, 'batch');
      if (bytes === undefined) return { path, error: 'listed, then gone when read' };
      const first = versionInName(path, '.batch') as number;
      try {
        return { path, batch: await codec.readBatch(path, bytes, { type, id, first }) };
      } catch (error) {
        if (!isSealed(error)) throw error;
        // Checksums and header held (they are checked before decrypting): keep checking the versions.
        return { path, batch: { header: codec.batchHeader(path, bytes, { type, id, first }) }, sealed: true };
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
      continue;
    }
    if (result.sealed) {
      reader.sealed++;
      sound = false;
    }
    const { first, last } = result.batch.header;
    if (expected !== undefined && first !== expected) {
      sound = false;
      const kind = first < expected ? 'overlap' : 'gap';
      report({
        path: result.path,
        message: `version ${kind}: expected version ${expected}, the batch starts at ${first}`,
      });
    }
    ends.add(last);
    expected = last + 1;
  }
  return { ends, sound };
}

async function checkSnapshots(
  fs: FileSystem,
  reader: Reader,
  type: string,
  id: string,
  paths: readonly string[],
  ends: Set<number>,
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
    if (!ends.has(version)) report({ path, message: `snapshot at version ${version}, which no batch ends at` });
    const compare = mode === 'full' || (mode === 'sample' && index === paths.length - 1);
    if (compare && repository && registration) {
      await compareWithReplay(repository, registration, id, version, path, snapshot.state, report);
    }
  }
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
