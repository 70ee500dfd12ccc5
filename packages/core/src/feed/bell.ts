import { randomBytes } from 'node:crypto';
import type { FileSystem } from '../storage/file-system.js';
import { BELL, BELL_FOLDER } from './layout.js';

/*
 * The bell of a partitioned feed: after logging, writers replace one small file
 * (`.evsrc/feed/bell/ring`) with a new value, so that an idle watcher reads that one file
 * per poll interval instead of the next position of each of the K logs. It is a hint,
 * never trusted for correctness: a ring lost to a crash or an error only delays other
 * processes' watchers until their next full sweep of the logs (see `FeedPoller`).
 *
 * Rings are coalesced per file system object: at most one replace in flight, and a least
 * gap between two, so a busy writer adds a bounded number of writes per second whatever
 * its save rate: RING_GAP_MS where the store has notifications (local disk, where the
 * bell's replace is what `fs.watch` sees, memory, Redis: a cheap write, and the latency
 * watchers of other processes see), RING_GAP_POLLED_MS where watchers only poll (S3,
 * Azure: a billed PUT, against a poll interval of 250 ms anyway). Backends with pub/sub
 * (Redis) also get a `notify` per entry, which costs no storage request and is not awaited.
 */

/** Least time between two replaces of the bell by one process, on a store with notifications. */
export const RING_GAP_MS = 20;
/** The same on a store without notifications (object stores: each replace is a billed request). */
export const RING_GAP_POLLED_MS = 1000;

interface Ringer {
  /** A replace is in flight or scheduled. */
  busy: boolean;
  /** Something was logged since the last replace started. */
  again: boolean;
  last: number;
}

const ringers = new WeakMap<FileSystem, Ringer>();
const unique = randomBytes(4).toString('hex');
let rings = 0;

/** Tells other processes' watchers that `partition` has an entry at `position` (best effort). */
export function ringBell(fs: FileSystem, partition: number, position: number): void {
  // Pub/sub watchers (Redis) hear every entry at once; the PUBLISH is not awaited by the save.
  void fs.notify?.(BELL_FOLDER).catch(() => {});
  let ringer = ringers.get(fs);
  if (!ringer) {
    ringer = { busy: false, again: false, last: 0 };
    ringers.set(fs, ringer);
  }
  if (ringer.busy) {
    ringer.again = true;
    return;
  }
  ringer.busy = true;
  void ring(fs, ringer, partition, position);
}

async function ring(fs: FileSystem, ringer: Ringer, partition: number, position: number): Promise<void> {
  for (;;) {
    const wait = ringer.last + (fs.watch ? RING_GAP_MS : RING_GAP_POLLED_MS) - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref?.());
    ringer.again = false;
    ringer.last = Date.now();
    // A value no other ring has: a watcher that read the bell before sees a change.
    const value = `${partition}:${position}:${unique}:${++rings}`;
    await fs.replace(BELL, new TextEncoder().encode(value), { durable: false }).catch(() => undefined);
    if (!ringer.again) break;
  }
  ringer.busy = false;
}
