import { FeedIntegrityError } from '../errors.js';
import type { GuardedFileSystem } from '../storage/guarded.js';
import { entryPath, type FeedPosition, formatCheckpoint } from './layout.js';

/** One log entry, read and resolved: its committed batches (type-filtered), in order. */
export interface ResolvedEntry<B> {
  readonly position: number;
  /** The entry's id and its predecessor's, when the entry is chained. */
  readonly id?: string;
  readonly prev?: string;
  /** Committed batches of the entry, each with its index in the entry. */
  readonly batches: readonly { readonly index: number; readonly batch: B }[];
}

/** Reads and resolves the entry at a position of one log; `undefined` when it does not exist (yet). */
export type ResolveEntry<B> = (position: number) => Promise<ResolvedEntry<B> | undefined>;

/**
 * A reader's walk along one partition's log: entries in position order, read ahead, each
 * checked to continue the one before it (the chain of entry ids), a missing entry told
 * apart from a lost one.
 */
export class PartitionScan<B> {
  readonly partition: number;
  readonly #fs: GuardedFileSystem;
  readonly #folder: string;
  readonly #resolve: ResolveEntry<B>;
  readonly #from: FeedPosition;
  readonly #readAhead: number;
  readonly #ahead = new Map<number, Promise<ResolvedEntry<B> | undefined>>();
  /** The next position to yield. */
  #position: number;
  /** Right after the end was reached, new entries come one at a time: read ahead again once one is found. */
  #width = 1;
  /** The id of the entry before {@link #position} as this reader saw it: the next entry must name it. */
  #seen: string | undefined;
  #peeked: ResolvedEntry<B> | undefined;

  constructor(
    fs: GuardedFileSystem,
    partition: number,
    folder: string,
    from: FeedPosition,
    readAhead: number,
    resolve: ResolveEntry<B>,
  ) {
    this.#fs = fs;
    this.partition = partition;
    this.#folder = folder;
    this.#from = from;
    this.#readAhead = readAhead;
    this.#resolve = resolve;
    this.#position = Math.max(1, from.position);
  }

  /** The position of the next entry. */
  get position(): number {
    return this.#position;
  }

  /**
   * The next entry, or `undefined` at the end of the log as it is now (ask again later).
   * @throws {FeedIntegrityError} when the log lost an entry this reader saw or must see.
   */
  async peek(): Promise<ResolvedEntry<B> | undefined> {
    if (this.#peeked) return this.#peeked;
    const position = this.#position;
    for (let p = position; p < position + this.#width; p++) {
      if (!this.#ahead.has(p)) {
        const pending = this.#resolve(p);
        pending.catch(() => undefined); // handled when reached; ignored if abandoned
        this.#ahead.set(p, pending);
      }
    }
    const resolved = await (this.#ahead.get(position) as Promise<ResolvedEntry<B> | undefined>);
    this.#ahead.delete(position);
    if (resolved === undefined) {
      const appeared = await this.#checkMissing(position);
      this.#ahead.clear(); // entries past a missing one were read too early
      this.#width = 1;
      return appeared ? this.peek() : undefined;
    }
    this.#width = this.#readAhead;
    this.#checkLink(resolved);
    this.#peeked = resolved;
    return resolved;
  }

  /** Moves past the entry {@link peek} returned. */
  advance(): void {
    if (!this.#peeked) throw new Error('advance() without an entry');
    this.#seen = this.#peeked.id;
    this.#peeked = undefined;
    this.#position++;
  }

  /** Stops reading ahead. */
  close(): void {
    this.#ahead.clear();
  }

  /**
   * At a missing entry: fails if the reader's checkpoint names it (it was seen, now it is
   * gone) or if the entry after it exists and it is still missing when read again (an
   * entry is only written after the one before it exists: this one was lost).
   * @returns true when the entry has appeared meanwhile (read it again).
   */
  async #checkMissing(position: number): Promise<boolean> {
    const path = entryPath(position, this.#folder);
    const from = this.#from;
    if (position === from.position && from.id !== undefined) {
      throw new FeedIntegrityError(
        path,
        position,
        `the checkpoint's place in this log (${formatCheckpoint(from)}) names it, but it is gone`,
      );
    }
    const next = this.#ahead.get(position + 1);
    if (next === undefined || (await next.catch(() => undefined)) === undefined) return false;
    // The reads were in flight together: the entry may have been written between them.
    if ((await this.#fs.read(path)) !== undefined) return true;
    throw new FeedIntegrityError(path, position, 'it is missing, while the entry after it exists');
  }

  /**
   * Checks that an entry continues what the reader saw: at the checkpoint's own position,
   * the id the checkpoint names; after it, the id of the entry the reader read before.
   * @throws {FeedIntegrityError} when the log lost the position and it was written again.
   */
  #checkLink(entry: ResolvedEntry<B>): void {
    const from = this.#from;
    if (entry.position === from.position && from.id !== undefined && entry.id !== from.id) {
      throw new FeedIntegrityError(
        entryPath(entry.position, this.#folder),
        entry.position,
        `the checkpoint's place in this log (${formatCheckpoint(from)}) was taken at another entry than the one there now`,
      );
    }
    const seen = this.#seen;
    if (seen !== undefined && entry.prev !== undefined && entry.prev !== seen) {
      throw new FeedIntegrityError(
        entryPath(entry.position - 1, this.#folder),
        entry.position - 1,
        'the entry after it follows another entry than the one this reader saw there',
      );
    }
  }
}
