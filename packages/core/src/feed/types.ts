import type { EventRecord } from '../model/event-record.js';
import type { LoggedBatchHeader } from './commit.js';
import type { LoggedBatch } from './entry.js';
import type { Checkpoint } from './layout.js';

/** One committed batch of the feed. */
export interface FeedBatch {
  /** Where this batch is in the feed: store it, and read on from it to continue after this batch. */
  readonly checkpoint: Checkpoint;
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** Version of the batch's first and last event. */
  readonly firstVersion: number;
  readonly lastVersion: number;
  /** The save's commit id. */
  readonly commit: string;
  /** The partition of the feed whose log holds the batch (that of its aggregate; 0 on a feed of one log). */
  readonly partition: number;
  /** The batch's events, in order (empty when {@link forgotten}). */
  readonly events: readonly EventRecord[];
  /** The aggregate was forgotten (crypto-shredding): its events can never be read again. */
  readonly forgotten?: true;
}

/** Options of {@link Feed.read}. */
export interface FeedReadOptions {
  /** Yield what comes after this checkpoint (default: from the start). */
  readonly from?: Checkpoint;
  /** Only batches of these aggregate types (type names or registered classes; default: all). */
  readonly types?: readonly (string | { readonly type: string })[];
  /**
   * Only these partitions (default: all): K readers can split one feed between them. The
   * checkpoints yielded keep the other partitions' places as `from` gave them.
   */
  readonly partitions?: readonly number[];
  /** Stops the iteration (it throws the signal's reason). */
  readonly signal?: AbortSignal;
}

/** Options of {@link Feed.watch}. */
export interface FeedWatchOptions extends FeedReadOptions {
  /** How often the process's poller looks for new entries when nothing wakes it (default 250 ms). */
  readonly pollIntervalMs?: number;
  /** Called each time the watcher has yielded everything there is and is about to wait. */
  readonly idle?: () => void | Promise<void>;
}

/** How the feed reads batch files (given by the repository, which knows the types and keys). */
export interface FeedCodec {
  /** Decodes a committed batch file into its records. */
  decode(batch: LoggedBatch, bytes: Uint8Array): Promise<EventRecord[]>;
  /**
   * The checkpoint a batch file's header names (`undefined`: written with the feed off).
   * @throws {CorruptFileError} when the file is damaged.
   */
  checkpointIn(batch: LoggedBatch, bytes: Uint8Array): Checkpoint | undefined;
  /**
   * What a batch file's header says about it, checked against the batch's place (its
   * type, id and first version): what a reader checks the logged bytes against before it
   * creates the batch file from the log.
   * @throws {CorruptFileError} when the bytes are damaged, {MisplacedFileError} when they belong elsewhere.
   */
  headerOf(batch: LoggedBatch, bytes: Uint8Array): LoggedBatchHeader;
}

/** Options of a {@link Feed}. */
export interface FeedOptions {
  /** Log entries (and their batch files) fetched ahead while reading (default: the file system's `readConcurrency`, else 4). */
  readonly readAhead?: number;
  /**
   * How long a reader waits for a logged batch whose file is still missing before it
   * creates the file itself from the log (its writer is slow or gone), in ms (default 500).
   */
  readonly rollForwardAfterMs?: number;
}

/** What a batch file's header says about it (see {@link FeedCodec.headerOf}); defined with the commit protocol. */
export type { LoggedBatchHeader } from './commit.js';
