import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError, CorruptFileError, ErrorCode, isEvsrcError } from '../errors.js';
import { batchPath } from '../format/layout.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import type { LoggedBatch, LoggedBatchInfo } from './entry.js';
import { type Checkpoint, DEFAULT_PARTITIONS, encodeMarker, FEED_MARKER, MAX_PARTITIONS } from './layout.js';
import { FeedLog } from './log.js';
import { readLayout } from './marker.js';

/*
 * The feed's commit protocol, both sides of it:
 *  - the store's feed is on while its marker (`.evsrc/feed/enabled`) exists: every save logs;
 *  - a save logs its batch first, then creates the batch file (bytes naming their place in
 *    the log), so a crash between the two cannot leave a batch the feed misses;
 *  - a reader that finds a logged batch still missing completes it from the log
 *    (roll-forward), only when the logged bytes are that batch and it follows the very batch
 *    its save followed.
 */

/** What a batch file's header says about it (see `FeedCodec.headerOf`). */
export interface LoggedBatchHeader extends Omit<LoggedBatchInfo, 'path'> {
  /** The checkpoint the batch was logged at (`undefined`: written with the feed off). */
  readonly feed?: Checkpoint | undefined;
}

/** Reads a batch file's header, checked against the batch's place (`FeedCodec` is one). */
export interface HeaderReader {
  headerOf(batch: LoggedBatch, bytes: Uint8Array): LoggedBatchHeader;
}

/** How a repository asks for the feed: on (`true`, or with a number of partitions), off, or as the store says. */
export type FeedSetting = boolean | { readonly partitions?: number } | undefined;

/**
 * The feed's log when the store's batches must be logged: `feed: true` (or
 * `{ partitions }`) turns the store's feed on (creates the marker, with K partitions,
 * default {@link DEFAULT_PARTITIONS}); otherwise it is on when the marker exists. A store
 * whose feed is on keeps its number of partitions.
 * @throws {ConfigurationError} with `feed: false` on a store whose feed is on, or a
 *   number of partitions other than the store's.
 */
export async function openFeedLog(fs: FileSystem, feed: FeedSetting): Promise<FeedLog | undefined> {
  const guarded = GuardedFileSystem.of(fs);
  const asked = typeof feed === 'object' ? feed.partitions : undefined;
  if (asked !== undefined && (!Number.isSafeInteger(asked) || asked < 1 || asked > MAX_PARTITIONS)) {
    throw new ConfigurationError(`feed.partitions must be an integer from 1 to ${MAX_PARTITIONS}, not ${asked}`);
  }
  if (feed === true || typeof feed === 'object') {
    try {
      await guarded.create(FEED_MARKER, encodeMarker(asked ?? defaultPartitions(fs)));
    } catch (error) {
      if (!isEvsrcError(error, ErrorCode.FileExists)) throw error;
    }
  }
  const layout = await readLayout(fs);
  if (layout === undefined) return undefined;
  if (feed === false) {
    throw new ConfigurationError(
      `This store's change feed is on (${FEED_MARKER} exists): a repository with feed: false would store batches the feed never shows`,
    );
  }
  if (asked !== undefined && asked !== layout.partitions) {
    throw new ConfigurationError(
      `This store's change feed has ${layout.partitions} partition(s), fixed when it was turned on; feed.partitions asks for ${asked}`,
    );
  }
  return new FeedLog(fs, layout);
}

/** The partitions of a feed turned on without saying how many: the backend's, else {@link DEFAULT_PARTITIONS}. */
function defaultPartitions(fs: FileSystem): number {
  const k = fs.feedPartitions;
  return k !== undefined && Number.isSafeInteger(k) && k >= 1 && k <= MAX_PARTITIONS ? k : DEFAULT_PARTITIONS;
}

/**
 * Stores a batch: with the feed on (`log`), logs it first (with its place in the feed in
 * its header), then creates its file — only while the batch it follows (`after`) exists.
 * @returns the bytes written.
 * @throws the create's errors as they are (`FileExists`: the version is taken;
 *   `MissingPredecessor`: the batch it follows is gone).
 */
export async function commitBatch(
  fs: GuardedFileSystem,
  log: FeedLog | undefined,
  batch: LoggedBatchInfo,
  encode: (feed: Checkpoint | undefined) => Uint8Array,
): Promise<Uint8Array> {
  const bytes = log ? (await log.append({ ...batch, encode })).bytes : encode(undefined);
  const { type, id, after } = batch;
  await fs.create(batch.path, bytes, after === undefined ? undefined : { requires: batchPath(type, id, after) });
  return bytes;
}

/**
 * A reader's side: the bytes of the logged batch's file; creates it from the log when its
 * writer never did (after checking the logged bytes are that batch). `undefined` when it
 * can never be created: the batch it follows is gone (the store lost data; its writer was
 * told so and nothing past the hole is written). `entry` is the log entry's path, `place`
 * the batch's place in the log as its header names it.
 */
export async function completeFromLog(
  fs: GuardedFileSystem,
  codec: HeaderReader,
  logged: LoggedBatch,
  entry: string,
  place: Checkpoint,
  rollForwardAfterMs: number,
): Promise<Uint8Array | undefined> {
  const { path } = logged;
  let waited = 0;
  for (let delay = 5; ; delay = Math.min(delay * 4, 200)) {
    const bytes = await fs.read(path);
    if (bytes !== undefined) return bytes;
    if (waited >= rollForwardAfterMs) break;
    const step = Math.min(delay, rollForwardAfterMs - waited);
    await sleep(step);
    waited += step;
  }
  checkLogged(codec, logged, entry, place);
  if (!(await followsWhatItFollowed(fs, codec, logged))) return undefined;
  const after = logged.after === undefined ? undefined : { requires: batchPath(logged.type, logged.id, logged.after) };
  try {
    await fs.create(path, logged.bytes, after);
    return logged.bytes;
  } catch (error) {
    if (isEvsrcError(error, ErrorCode.MissingPredecessor)) return undefined;
    if (!isEvsrcError(error, ErrorCode.FileExists)) throw error;
    const bytes = await fs.read(path);
    if (bytes === undefined) throw new CorruptFileError(path, 'a batch file existed, then was gone when read');
    return bytes;
  }
}

/**
 * Before a roll-forward: the batch the logged one follows must be the very batch its
 * save followed (same commit id). After the store lost that batch and another save wrote
 * those versions again, the intent is stale — its save was refused — and is never completed.
 */
async function followsWhatItFollowed(
  fs: GuardedFileSystem,
  codec: HeaderReader,
  logged: LoggedBatch,
): Promise<boolean> {
  if (logged.after === undefined || logged.afterCommit === undefined) return true;
  const path = batchPath(logged.type, logged.id, logged.after);
  const bytes = await fs.read(path);
  if (bytes === undefined) return false;
  const previous = { ...logged, path, first: logged.after, bytes };
  return codec.headerOf(previous, bytes).commit === logged.afterCommit;
}

/**
 * Before a roll-forward: the logged bytes must be the batch the entry describes — their
 * header names the entry's type, id, first and last version, commit id and checkpoint —
 * or a damaged or forged entry would write another aggregate's batch into this one's folder.
 * @throws {CorruptFileError} naming the log entry; nothing is written.
 */
function checkLogged(codec: HeaderReader, logged: LoggedBatch, entry: string, checkpoint: Checkpoint): void {
  const where = `the batch it logs for ${JSON.stringify(logged.path)} (checkpoint ${checkpoint})`;
  let header: LoggedBatchHeader;
  try {
    header = codec.headerOf(logged, logged.bytes);
  } catch (error) {
    if (!isEvsrcError(error, ErrorCode.CorruptFile) && !isEvsrcError(error, ErrorCode.MisplacedFile)) throw error;
    throw new CorruptFileError(entry, `${where} is not that batch: ${error.message}`, error);
  }
  const wrong: string[] = [];
  const differs = (what: string, found: unknown, expected: unknown) => {
    if (found !== expected) wrong.push(`${what} ${JSON.stringify(found)} instead of ${JSON.stringify(expected)}`);
  };
  differs('type', header.type, logged.type);
  differs('id', header.id, logged.id);
  differs('first version', header.first, logged.first);
  differs('last version', header.last, logged.last);
  differs('commit', header.commit, logged.commit);
  differs('checkpoint', header.feed ?? null, checkpoint);
  if (wrong.length > 0) {
    throw new CorruptFileError(entry, `${where} is not that batch: its header says ${wrong.join(', ')}`);
  }
}
