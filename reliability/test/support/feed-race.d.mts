import type { Repository } from '@evsrc/core';
import type { Ack } from './audit.js';

/** The aggregate every racer runs commands on. */
export declare const SHARED: 'shared';
/** Aggregates of its own each racer saves, all at once. */
export declare const OWN: 3;

/** What a racer reports at its end. */
export interface FeedRaceReport {
  /** Saves that resolved: on its own aggregates, and the successful run of each command on the shared one. */
  readonly acks: Ack[];
  /** Tags of the runs of commands whose save failed (a conflict): never to be seen in the feed. */
  readonly failedAttempts: string[];
  /** Commands that gave up (only `EVSRC_RETRIES_EXHAUSTED` is expected). */
  readonly gaveUp: { tag: string; code: string; message: string }[];
  readonly attempts: number;
  readonly okAfterRetry: number;
  readonly ms: number;
}

/** Runs one racer's loops (its own aggregates, the shared aggregate) on `repository`. */
export declare function runFeedRacer(
  repository: Repository,
  racer: number,
  saves: number,
  commands: number,
): Promise<FeedRaceReport>;
