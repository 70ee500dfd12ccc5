import type { CodecOptions } from '../codec/pipeline.js';
import type { FeedOptions } from '../feed/feed.js';
import type { EventMetadata } from '../model/event-record.js';
import type { Format } from '../parsers/parser.js';
import type { FileSystem } from '../storage/file-system.js';
import type { AggregateRegistration } from './aggregate-type.js';

/** What went wrong outside the caller's path: a snapshot write or an observer. */
export interface BackgroundErrorContext {
  readonly operation: 'snapshot-write' | 'snapshot-read' | 'observer' | 'cache';
  readonly aggregateType: string;
  readonly aggregateId: string;
}

/** Options of {@link Repository}. */
export interface RepositoryOptions {
  /** Where the files live. */
  readonly fileSystem: FileSystem;
  /** Every aggregate type this repository loads and saves. */
  readonly aggregates: readonly AggregateRegistration[];
  /** The format new files are written in (default: JSON). Files of any known format are read. */
  readonly format?: Format | 'json' | 'msgpack';
  /**
   * The codec pipeline for new files: compression and/or AES-256-GCM encryption (with
   * per-aggregate data keys for crypto-shredding). Default: plain. Files written with any
   * settings are read, as their headers say (encrypted ones need their key in the keyring).
   */
  readonly codec?: CodecOptions;
  /**
   * The largest batch or snapshot file read or written, in bytes (default 256 MiB;
   * `Infinity`: no limit but the platform's largest buffer, 4 GiB on Node 20). A larger file is refused with a
   * `FileTooLargeError` (`EVSRC_FILE_TOO_LARGE`) naming it, its size and the limit, before
   * its bytes are read wherever the file system tells the size first (all of evsrc's
   * adapters do); a save or snapshot that would write one is refused the same way, so
   * that no reader with the same setting meets a file it cannot read. Batches are one
   * save's events and snapshots one aggregate's state: real ones are kilobytes, rarely
   * megabytes; 256 MiB leaves ample room while bounding the memory a hostile or damaged
   * file can take (a JSON body cannot exceed 512 MiB anyway: V8's longest string).
   */
  readonly maxFileBytes?: number;
  /** Extra formats to read, besides JSON, MessagePack and `format`. */
  readonly readFormats?: readonly Format[];
  /** The clock stamped on stored events, in ms since the epoch (default `Date.now`). */
  readonly clock?: () => number;
  /** Keep recently used aggregates' states in memory (never served stale). Default: off. */
  readonly cache?: boolean | { readonly maxEntries?: number };
  /** Batch files read in parallel while loading (default: the file system's `readConcurrency`, else 4). */
  readonly readConcurrency?: number;
  /**
   * The longest a single file system call may take, in ms (for a listing: each step of it).
   * A call that takes longer fails with a `StorageError` whose `cause` is a
   * `TimeoutError` (`EVSRC_TIMEOUT`); the save keeps its pending events, and its retry
   * recognises by the commit id a batch whose timed-out create landed after all.
   *
   * The call itself is not cancelled (the `FileSystem` port has no way to): bound the
   * adapter's own client too (SDK request timeouts, ioredis `commandTimeout`), which can.
   *
   * Default: `undefined` — no bound, calls take as long as the adapter lets them (`0` and
   * `Infinity` mean the same). Worth setting for network stores whose client has no
   * time-out of its own, to a value well above the slowest legitimate call (e.g. 30,000).
   */
  readonly operationTimeoutMs?: number;
  /**
   * The change feed ({@link Repository.feed}): `true` logs every save in the store's feed
   * (and marks the store, so that every other writer does too); `{ partitions: K }` does
   * the same, turning a store's feed on with K logs (default 32, from 1 to 256; fixed once
   * the feed is on: asking another number of a store whose feed is on is a
   * `ConfigurationError`); `false` refuses to write to a store whose feed is on; default:
   * log when the store is marked. Read once, at the first save: writers started before
   * the feed was turned on must be restarted.
   */
  readonly feed?: boolean | { readonly partitions?: number };
  /** How {@link Repository.feed} reads (read-ahead, roll-forward delay). */
  readonly feedReading?: FeedOptions;
  /**
   * Told of failures that do not fail the caller: a snapshot that could not be written
   * or read (the save still succeeds, the load replays events instead), an observer that
   * threw. Default: `console.warn`.
   */
  readonly onError?: (error: unknown, context: BackgroundErrorContext) => void;
}

/** Where to stop when loading: a version, or a timestamp (inclusive). */
export interface AsOf {
  /** Load the state right after this version. */
  readonly version?: number;
  /** Load the state made of every event stored at or before this time (ms since the epoch, or a Date). */
  readonly timestamp?: number | Date;
  /** `false`: replay every event from version 1, ignoring snapshots and the cache (e.g. to check a snapshot). */
  readonly snapshots?: boolean;
}

/** Options of {@link Repository.save}. */
export interface SaveOptions {
  /** Stored with every event of this save (merged under each event's own metadata). */
  readonly metadata?: EventMetadata;
}

/** Options of {@link Repository.execute}. */
export interface ExecuteOptions {
  /** Attempts before giving up with a {@link RetriesExhaustedError} (default 5). */
  readonly maxAttempts?: number;
  /** Start from a new aggregate when none is stored (default false: {@link AggregateNotFoundError}). */
  readonly create?: boolean;
  /** Base of the randomised exponential back-off between attempts, in ms (default 5). */
  readonly backoffMs?: number;
  /** Longest wait between two attempts, in ms (default 1,000): the back-off doubles up to this. */
  readonly maxBackoffMs?: number;
  /** Passed to {@link Repository.save}. */
  readonly metadata?: EventMetadata;
}

/** Options of {@link Repository.events}. */
export interface ReadEventsOptions {
  /** First version to yield (default 1). */
  readonly fromVersion?: number;
  /** Last version to yield (default: the latest). */
  readonly toVersion?: number;
}
