import { ConcurrencyError, CorruptFileError, ErrorCode, isEvsrcError } from '../errors.js';
import { encodeSegment } from '../format/layout.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import type { Feed, FeedBatch } from './feed.js';
import { type Checkpoint, FEED_START, isCheckpoint, RESERVED_FOLDER } from './layout.js';

/** Options of a {@link Projection}. */
export interface ProjectionOptions<S> {
  /** The feed to follow (`repository.feed`). */
  readonly feed: Feed;
  /** Where the projection's state and checkpoint are stored: give the feed's store for exactly-once. */
  readonly fileSystem: FileSystem;
  /** The projection's name (like an aggregate id: any non-empty string up to 200 encoded bytes). */
  readonly name: string;
  /** The state before the first batch (also after {@link Projection.rebuild}). */
  readonly initialState: () => S;
  /**
   * Applies one committed batch to the state: mutate it or return a new one. Runs again
   * for batches after the last stored checkpoint when a process restarts, so side effects
   * outside the state happen at least once; the state itself sees each batch exactly once.
   */
  readonly handle: (state: S, batch: FeedBatch) => S | undefined | Promise<S | undefined>;
  /** Only batches of these aggregate types (names or classes). */
  readonly types?: readonly (string | { readonly type: string })[];
  /**
   * Only this partition of the feed: the state and checkpoint of that partition, stored in
   * a folder of its own (`.evsrc/projections/{name}/p{partition}/`). What a
   * {@link SharedProjection} runs for each partition a process owns; use it directly to
   * give each of K processes one partition.
   */
  readonly partition?: number;
  /** Batches handled between two stores of state and checkpoint (default 100; also stored whenever the feed is caught up). */
  readonly saveEvery?: number;
  /** Turns the state into JSON-able data (default: the state itself, through `JSON.stringify`). */
  readonly serialize?: (state: S) => unknown;
  /** Turns stored JSON data back into a state (default: the data itself). */
  readonly deserialize?: (data: unknown) => S;
}

interface Stored {
  readonly generation: number;
  readonly checkpoint: Checkpoint;
  readonly state: unknown;
}

/** The folder (with trailing `/`) where the projection `name` keeps what it stores. */
export function projectionFolder(name: string): string {
  return `${RESERVED_FOLDER}projections/${encodeSegment(name)}/`;
}

/** Generations of stored state kept (the newest ones; older are deleted). */
const KEEP = 2;

/**
 * A read model fed by the change feed: a handler, a state and the checkpoint it has
 * reached, stored together in one file per step, so that the state reflects each batch
 * exactly once — after a crash it resumes from the state and checkpoint stored last.
 *
 * Each store creates a new generation file with create-if-absent: when two processes run
 * the same projection, one wins each step and the other gets a {@link ConcurrencyError}
 * from {@link save} ({@link run} then reloads and goes on), so the state is never written
 * over by a stale copy.
 *
 * Layout: `.evsrc/projections/{encoded name}/{generation, 12 digits}.json`.
 */
export class Projection<S> {
  readonly #options: ProjectionOptions<S>;
  readonly #folder: string;
  #state: S;
  #checkpoint: Checkpoint = FEED_START;
  #generation = 0;
  #unsaved = 0;
  #loaded = false;

  constructor(options: ProjectionOptions<S>) {
    this.#options = options;
    const partition = options.partition === undefined ? '' : `p${String(options.partition).padStart(3, '0')}/`;
    this.#folder = `${projectionFolder(options.name)}${partition}`;
    this.#state = options.initialState();
  }

  /** The current state (after the last handled batch). */
  get state(): S {
    return this.#state;
  }

  /** The checkpoint of the last handled batch. */
  get checkpoint(): Checkpoint {
    return this.#checkpoint;
  }

  /** Loads the stored state and checkpoint (the initial state at the feed's start when none). */
  async load(): Promise<void> {
    const stored = await this.#latest();
    const { deserialize } = this.#options;
    this.#generation = stored?.generation ?? 0;
    this.#checkpoint = stored?.checkpoint ?? FEED_START;
    this.#state = stored
      ? deserialize
        ? deserialize(stored.state)
        : (stored.state as S)
      : this.#options.initialState();
    this.#unsaved = 0;
    this.#loaded = true;
  }

  /**
   * Handles every batch committed after the checkpoint, up to the end of the feed, and
   * stores the result.
   * @returns the number of batches handled.
   * @throws {ConcurrencyError} when another process stored this projection meanwhile.
   */
  async catchUp(signal?: AbortSignal): Promise<number> {
    if (!this.#loaded) await this.load();
    let handled = 0;
    for await (const batch of this.#options.feed.read(this.#readOptions(signal))) {
      await this.#handle(batch);
      handled++;
    }
    await this.save();
    return handled;
  }

  /**
   * Catches up, then follows the feed, handling batches as they are committed, until
   * `signal` aborts (then it stores what it has and resolves). After a
   * {@link ConcurrencyError} (another process runs it too) it reloads and goes on.
   */
  async run(options: { signal?: AbortSignal; pollIntervalMs?: number } = {}): Promise<void> {
    const { signal } = options;
    for (;;) {
      try {
        if (!this.#loaded) await this.load();
        const batches = this.#options.feed.watch({
          ...this.#readOptions(signal),
          ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
          idle: () => this.save(),
        });
        for await (const batch of batches) await this.#handle(batch);
      } catch (error) {
        if (signal?.aborted) {
          await this.save();
          return;
        }
        if (!isEvsrcError(error, ErrorCode.Concurrency)) throw error;
        this.#loaded = false; // someone else moved it on: continue from what they stored
      }
    }
  }

  /** Starts again from the feed's start with the initial state, catches up and stores the result. */
  async rebuild(signal?: AbortSignal): Promise<number> {
    if (!this.#loaded) await this.load();
    this.#state = this.#options.initialState();
    this.#checkpoint = FEED_START;
    this.#unsaved = 1; // store even if the feed is empty
    return this.catchUp(signal);
  }

  /**
   * Stores the state and checkpoint as the next generation (no-op when nothing changed).
   * @throws {ConcurrencyError} when another process stored a newer generation first.
   */
  async save(): Promise<void> {
    if (this.#unsaved === 0) return;
    const generation = this.#generation + 1;
    const path = this.#path(generation);
    const { serialize } = this.#options;
    const data = { checkpoint: this.#checkpoint, state: serialize ? serialize(this.#state) : this.#state };
    const bytes = new TextEncoder().encode(`${JSON.stringify(data)}\n`);
    const fs = GuardedFileSystem.of(this.#options.fileSystem);
    try {
      await fs.create(path, bytes);
    } catch (error) {
      if (!isEvsrcError(error, ErrorCode.FileExists)) throw error;
      this.#loaded = false;
      const latest = await this.#latest();
      throw new ConcurrencyError('projection', this.#options.name, this.#generation, latest?.generation ?? generation);
    }
    this.#generation = generation;
    this.#unsaved = 0;
    if (generation > KEEP) {
      const stale = this.#path(generation - KEEP);
      await fs.delete(stale).catch(() => undefined);
    }
  }

  async #handle(batch: FeedBatch): Promise<void> {
    const next = await this.#options.handle(this.#state, batch);
    if (next !== undefined) this.#state = next;
    this.#checkpoint = batch.checkpoint;
    this.#unsaved++;
    if (this.#unsaved >= (this.#options.saveEvery ?? 100)) await this.save();
  }

  #readOptions(signal: AbortSignal | undefined) {
    return {
      from: this.#checkpoint,
      ...(this.#options.types ? { types: this.#options.types } : {}),
      ...(this.#options.partition !== undefined ? { partitions: [this.#options.partition] } : {}),
      ...(signal ? { signal } : {}),
    };
  }

  #path(generation: number): string {
    return `${this.#folder}${String(generation).padStart(12, '0')}.json`;
  }

  async #latest(): Promise<Stored | undefined> {
    const fs = GuardedFileSystem.of(this.#options.fileSystem);
    let last: string | undefined;
    for await (const name of fs.list(this.#folder)) {
      if (/^\d{12}\.json$/.test(name.slice(this.#folder.length))) last = name;
    }
    if (last === undefined) return undefined;
    const path = last;
    const bytes = await fs.read(path);
    if (bytes === undefined) return this.#latest(); // deleted meanwhile by a newer generation's writer
    let data: { checkpoint?: unknown; state?: unknown };
    try {
      data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (error) {
      throw new CorruptFileError(path, `unreadable projection state: ${(error as Error).message}`, error);
    }
    if (typeof data !== 'object' || data === null || typeof data.checkpoint !== 'string') {
      throw new CorruptFileError(path, 'projection state has no checkpoint');
    }
    if (!isCheckpoint(data.checkpoint)) {
      throw new CorruptFileError(
        path,
        `projection state has a bad checkpoint: ${JSON.stringify(String(data.checkpoint).slice(0, 80))}`,
      );
    }
    return { generation: Number(path.slice(-17, -5)), checkpoint: data.checkpoint, state: data.state };
  }
}
