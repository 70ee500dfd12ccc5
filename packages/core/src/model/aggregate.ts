import { randomUUID } from 'node:crypto';
import type { ChangeEvent } from './change-event.js';
import { copyFields } from './change-event.js';
import type { EventMetadata, EventRecord } from './event-record.js';

/** Receives each event of an aggregate once it is stored (never before). */
export type EventObserver = (record: EventRecord) => void;

/** Options of {@link Aggregate.raise}. */
export interface RaiseOptions {
  /** Correlation/causation ids and other strings stored with the event. */
  metadata?: EventMetadata;
  /** A unique id for the event. */
  eventId?: string;
}

/** An event raised but not yet stored. */
export interface PendingEvent {
  readonly event: ChangeEvent;
  readonly metadata?: EventMetadata;
  readonly eventId?: string;
}

/** The constructor of an {@link Aggregate} subclass: `new (id)`, with a static `type` name. */
export interface AggregateClass<A extends Aggregate = Aggregate> {
  /** The name stored in paths and files; unique within a repository. */
  readonly type: string;
  /**
   * The schema version of the state `toSnapshot()` returns (default 1). Raise it when the
   * state's shape changes: older snapshots are then upcast (if snapshot upcasters are
   * registered) or ignored, and the state is rebuilt from the events.
   */
  readonly snapshotVersion?: number;
  new (id: string): A;
}

/** @internal The versions of one stored batch file. */
export interface StoredBatch {
  readonly first: number;
  readonly last: number;
  /** Its commit id, when known. */
  readonly commit?: string;
}

/** @internal Key of the repository-only API of an aggregate. */
export const internal: unique symbol = Symbol('evsrc.aggregate.internal');

/** @internal What the repository may do to an aggregate. */
export interface AggregateInternals {
  /** Applies a stored event while loading. */
  replay(event: ChangeEvent, version: number, timestamp: number): void;
  /**
   * Marks the first `records.length` pending events stored by the save `commit` (events
   * raised since the save began stay pending; their batch becomes the stored batch) and
   * tells observers. Returns observer errors.
   */
  committed(records: readonly EventRecord[], commit: string): unknown[];
  /** Sets the version and timestamp after restoring a snapshot. */
  restored(version: number, timestamp: number): void;
  /**
   * The stored batch that ends the aggregate's known history (the one a save must follow),
   * or `undefined` when not known (nothing stored, or not loaded from batches).
   */
  storedBatch(): StoredBatch | undefined;
  /** Records the stored batch that ends the known history (see {@link storedBatch}). */
  setStoredBatch(batch: StoredBatch | undefined): void;
  /**
   * Id of the pending commit: stable across retries of a save until some of the pending
   * events are stored (events raised in between keep it, so a retry that finds its earlier
   * attempt stored a prefix of them recognises it).
   */
  commitId(): string;
  lastTimestamp(): number;
  /** Raises an event from outside the class (testing kit, seeding). */
  raise(event: ChangeEvent, options?: RaiseOptions): void;
}

/**
 * The base class of aggregates: an identity, a version, and state that changes only
 * through {@link ChangeEvent}s.
 *
 * Give the subclass a static `type` name and a constructor taking the id; change its
 * state only in events' `applyOn`; expose commands that check rules and call
 * {@link raise}. Keep the domain state in public (or protected) fields: the default
 * snapshot is the aggregate's own enumerable fields (evsrc's own bookkeeping lives in
 * private `#` fields, which are not part of it).
 *
 * @example
 * ```ts
 * class Account extends Aggregate {
 *   static readonly type = 'account';
 *   balance = 0;
 *   deposit(amount: number) {
 *     if (amount <= 0) throw new Error('amount must be positive');
 *     this.raise(new Deposited(amount));
 *   }
 * }
 * ```
 */
export abstract class Aggregate {
  readonly #id: string;
  #version = 0;
  #storedVersion = 0;
  #lastTimestamp = 0;
  #pending: PendingEvent[] = [];
  #commitId: string | undefined;
  #storedBatch: StoredBatch | undefined;
  readonly #observers = new Set<EventObserver>();

  constructor(id: string) {
    this.#id = id;
  }

  /** The aggregate's id. */
  get id(): string {
    return this.#id;
  }

  /** The version of the state as it is now, pending events included (0 before any event). */
  get version(): number {
    return this.#version;
  }

  /** The version last stored (or loaded); `version - storedVersion` events are pending. */
  get storedVersion(): number {
    return this.#storedVersion;
  }

  /** Events raised but not stored yet, oldest first. */
  get pendingEvents(): readonly PendingEvent[] {
    return this.#pending;
  }

  /** Timestamp of the last stored event (0 if none). */
  get timestamp(): number {
    return this.#lastTimestamp;
  }

  /**
   * Applies an event to the state now and keeps it pending until the repository stores it.
   * Call it from your command methods.
   */
  protected raise(event: ChangeEvent<this>, options: RaiseOptions = {}): void {
    event.applyOn(this);
    this.#version += 1;
    const pending: PendingEvent = { event: event as unknown as ChangeEvent };
    if (options.metadata) Object.assign(pending, { metadata: { ...options.metadata } });
    if (options.eventId !== undefined) Object.assign(pending, { eventId: options.eventId });
    this.#pending.push(pending);
  }

  /**
   * Registers an observer that hears of each event after it is stored.
   * @returns a function that unregisters it.
   */
  subscribe(observer: EventObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /**
   * The state stored in a snapshot: by default the own enumerable fields. Override to
   * convert: it must be plain data (see `findPayloadProblem`), else no snapshot is written.
   */
  toSnapshot(): unknown {
    return { ...this };
  }

  /**
   * Restores the state from a snapshot made by {@link toSnapshot}. Override together with
   * it. The default takes the fields of an object and refuses anything else (a snapshot
   * that throws here is reported and the state is rebuilt from the events).
   */
  restoreSnapshot(state: unknown): void {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new TypeError(
        `the snapshot state is ${state === null ? 'null' : Array.isArray(state) ? 'an array' : `a ${typeof state}`}, not an object of fields`,
      );
    }
    copyFields(this, state);
  }

  /** @internal */
  get [internal](): AggregateInternals {
    return {
      replay: (event, version, timestamp) => {
        event.applyOn(this);
        this.#version = version;
        this.#storedVersion = version;
        this.#lastTimestamp = timestamp;
      },
      restored: (version, timestamp) => {
        this.#version = version;
        this.#storedVersion = version;
        this.#lastTimestamp = timestamp;
      },
      committed: (records, commit) => {
        const last = records[records.length - 1];
        if (last) {
          this.#storedVersion = last.version;
          this.#lastTimestamp = last.timestamp;
          this.#storedBatch = { first: (records[0] as EventRecord).version, last: last.version, commit };
        }
        // Only the events this save stored leave: those raised while it ran stay pending.
        this.#pending = this.#pending.slice(records.length);
        this.#commitId = undefined;
        const errors: unknown[] = [];
        for (const record of records) {
          for (const observer of this.#observers) {
            try {
              observer(record);
            } catch (error) {
              errors.push(error);
            }
          }
        }
        return errors;
      },
      commitId: () => {
        this.#commitId ??= randomUUID();
        return this.#commitId;
      },
      lastTimestamp: () => this.#lastTimestamp,
      storedBatch: () => this.#storedBatch,
      setStoredBatch: (batch) => {
        this.#storedBatch = batch;
      },
      raise: (event, options) => this.raise(event as ChangeEvent<this>, options),
    };
  }
}
