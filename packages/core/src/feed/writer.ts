import { randomBytes } from 'node:crypto';
import { ErrorCode, isEvsrcError, StorageError } from '../errors.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import { ringBell } from './bell.js';
import { SegmentIndex } from './compacted.js';
import { encodeEntry, infoOf, type LoggedBatch, type LoggedBatchInfo, readEntry } from './entry.js';
import {
  CHUNK,
  type Checkpoint,
  chunkFolder,
  entryPath,
  FEED_FOLDER,
  type FeedLayout,
  headHintPath,
  logFolder,
  placeOf,
  positionInName,
} from './layout.js';
import { FeedPoller } from './poller.js';

/** A batch about to be saved, as the feed writer needs it. */
export interface BatchIntent extends LoggedBatchInfo {
  /** The batch file's bytes, stamped with its checkpoint in the feed. */
  encode(feed: Checkpoint): Uint8Array;
}

/** Where a batch was logged (its place, as its header names it), and the bytes its file must now be created with. */
export interface LoggedIntent {
  readonly feed: Checkpoint;
  readonly bytes: Uint8Array;
}

interface Waiting {
  readonly intent: BatchIntent;
  resolve(logged: LoggedIntent): void;
  reject(error: unknown): void;
}

/** Positions between two updates of the head hint. */
const HINT_EVERY = 100;
/** Most batches one log entry holds. */
const MAX_GROUP = 256;
/** Conflicts in a row (other processes taking the position) before giving up. */
const MAX_CONFLICTS = 10_000;

/**
 * Appends batch intents to one partition's log, before their batch files are created.
 *
 * Each log entry takes the next position with create-if-absent, so positions have no gap
 * and every entry's place is final once written. The saves of one process are grouped:
 * while one entry is being written, the next ones queue up and go together into the
 * following entry (group commit), so the writers of a process take one position per
 * round trip instead of racing each other for it.
 */
export class FeedWriter {
  readonly #fs: FileSystem;
  readonly #guarded: GuardedFileSystem;
  readonly #layout: FeedLayout;
  readonly #partition: number;
  /** The log's folder. */
  readonly #folder: string;
  readonly #onLogged: ((position: number) => void) | undefined;
  readonly #queue: Waiting[] = [];
  #draining = false;
  /** The highest position known to exist (0: none) and its entry's id; `undefined` until looked up. */
  #head: Head | undefined;

  /**
   * @param onLogged called after each entry this writer creates, with its position
   *   (the feed log compacts behind it).
   */
  constructor(
    fs: FileSystem,
    layout: FeedLayout = { partitions: 1, legacy: true },
    partition = 0,
    onLogged?: (position: number) => void,
  ) {
    this.#fs = fs;
    this.#onLogged = onLogged;
    this.#guarded = GuardedFileSystem.of(fs);
    this.#layout = layout;
    this.#partition = partition;
    this.#folder = logFolder(layout, partition);
  }

  /** Logs a batch; resolves once its entry is stored, with its checkpoint and file bytes. */
  append(intent: BatchIntent): Promise<LoggedIntent> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ intent, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue.splice(0, MAX_GROUP);
        try {
          const logged = await this.#write(group.map((w) => w.intent));
          for (const [i, w] of group.entries()) w.resolve(logged[i] as LoggedIntent);
        } catch (error) {
          this.#head = undefined; // look the head up again next time
          for (const w of group) w.reject(error);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async #write(intents: readonly BatchIntent[]): Promise<LoggedIntent[]> {
    const folder = this.#folder;
    let head = this.#head ?? (await this.#lookUp(await findHead(this.#fs, folder)));
    // Positions lost in a row to other writers (reset by each success: a new #write).
    let streak = 0;
    for (let conflicts = 0; ; conflicts++) {
      const position = head.position + 1;
      const logged = intents.map((intent, index) => {
        const feed = placeOf(this.#layout, this.#partition, position, index);
        return { feed, bytes: intent.encode(feed) };
      });
      const batches: LoggedBatch[] = intents.map((intent, i) => ({
        ...infoOf(intent),
        bytes: (logged[i] as LoggedIntent).bytes,
      }));
      const path = entryPath(position, folder);
      const id = entryId();
      try {
        await this.#createEntry(position, batches, id, head.id);
      } catch (error) {
        const lost = isEvsrcError(error, ErrorCode.MissingPredecessor);
        if (!lost && !isEvsrcError(error, ErrorCode.FileExists)) throw error;
        if (conflicts >= MAX_CONFLICTS) {
          throw new StorageError('create', path, new Error(`lost the race for a feed position ${conflicts} times`));
        }
        // Missing predecessor: the log lost its tail; the positions are taken again, and
        // readers that had passed them fail with a FeedIntegrityError. Taken: the head moved
        // on — most often by one entry (another process's), so read that one and try the next
        // position; after a second loss in a row, list the log for the head.
        if (lost) head = await this.#lookUp(await findHead(this.#fs, folder));
        else head = await this.#lookUp(streak++ === 0 ? position : await discoverHead(this.#fs, position, folder));
        continue;
      }
      this.#head = { position, id };
      this.#announce(position);
      return logged;
    }
  }

  /**
   * Creates the entry at `position`, chained to the one before it (`prev`), and only while
   * that one exists: after the store lost the tail of the log, a writer finds out here
   * instead of writing past the hole.
   */
  async #createEntry(position: number, batches: LoggedBatch[], id: string, prev: string | undefined): Promise<void> {
    const entry = encodeEntry(position, batches, prev === undefined ? { id } : { id, prev });
    const options = position > 1 ? { requires: entryPath(position - 1, this.#folder) } : undefined;
    await this.#guarded.create(entryPath(position, this.#folder), entry, options);
  }

  /** After an entry is written: the head hint now and then, and the watchers. */
  #announce(position: number): void {
    this.#onLogged?.(position);
    if (position % HINT_EVERY === 0) {
      void this.#fs.replace(headHintPath(this.#folder), encodeHint(position), { durable: false }).catch(() => {});
    }
    // Other processes' watchers: the log of a store from before partitions is polled directly; partitioned logs through the bell.
    if (this.#layout.legacy) void this.#fs.notify?.(FEED_FOLDER).catch(() => {});
    else ringBell(this.#fs, this.#partition, position);
    FeedPoller.of(this.#fs).wake(); // watchers of this process need no notification
  }

  /** The head at `position`, with its entry's id (read from the log). */
  async #lookUp(position: number): Promise<Head> {
    if (position === 0) return { position };
    const path = entryPath(position, this.#folder);
    const bytes = await this.#guarded.read(path);
    // Gone since it was listed: the next create finds out (its predecessor is missing).
    // An empty entry was compacted: its id is in its segment.
    const id =
      bytes === undefined
        ? undefined
        : bytes.byteLength === 0
          ? (await new SegmentIndex(this.#guarded).entryAt(this.#folder, position)).id
          : readEntry(path, bytes, position).id;
    return id === undefined ? { position } : { position, id };
  }
}

/** A position of the log known to exist, and the id of its entry (absent in old entries). */
interface Head {
  readonly position: number;
  readonly id?: string;
}

/** Random bytes for entry ids, drawn 2 KiB at a time (one call to the CSPRNG per 256 entries). */
let idPool = Buffer.alloc(0);
let idAt = 0;

/** A new entry id: 16 random hex digits. */
function entryId(): string {
  if (idAt + 8 > idPool.length) {
    idPool = randomBytes(8 * 256);
    idAt = 0;
  }
  idAt += 8;
  return idPool.toString('hex', idAt - 8, idAt);
}

const encodeHint = (position: number) => new TextEncoder().encode(String(position));

/**
 * The highest position in the log in `folder` (0 when empty): starts at the head hint when
 * it names an entry that exists, then walks the chunk folders forward.
 */
export async function findHead(fs: FileSystem, folder: string = FEED_FOLDER): Promise<number> {
  const guarded = GuardedFileSystem.of(fs);
  const hint = await guarded.read(headHintPath(folder));
  const text = hint === undefined ? '' : new TextDecoder().decode(hint);
  let start = /^\d{1,12}$/.test(text) ? Number(text) : 0;
  if (start > 0) {
    const path = entryPath(start, folder);
    if ((await guarded.read(path)) === undefined) start = 0;
  }
  return discoverHead(guarded, start, folder);
}

/** The highest position of the log in `folder`, knowing that `known` exists (0: nothing known). */
export async function discoverHead(fs: FileSystem, known: number, folder: string = FEED_FOLDER): Promise<number> {
  const guarded = GuardedFileSystem.of(fs);
  let head = known;
  for (;;) {
    const chunk = chunkFolder(head + 1, folder);
    const options = head > 0 && chunkFolder(head, folder) === chunk ? { startAfter: entryPath(head, folder) } : {};
    let last: number | undefined;
    for await (const name of guarded.list(chunk, options)) {
      const position = positionInName(name);
      if (position !== undefined) last = position;
    }
    if (last === undefined || last <= head) return head;
    head = last;
    // A full chunk: the head may be in the next one.
    if ((head + 1) % CHUNK !== 0) return head;
  }
}
