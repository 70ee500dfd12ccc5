import type { FeedBatch, FileSystem } from '@evsrc/core';
import { expect } from 'vitest';
import { type Ack, auditStore, missingAcks } from './audit.js';
import {
  ackProblems,
  FEED_LAYOUT,
  feedProblems,
  type LogContents,
  type Opener,
  partitionLines,
  placeOf,
  readerProblems,
  readFeed,
  readLog,
  repositoryProblems,
} from './feed-audit.js';

/** The batch files of the store (listed, not read). */
export async function batchFiles(fileSystem: FileSystem): Promise<Set<string>> {
  const paths = new Set<string>();
  for await (const path of fileSystem.list('')) if (path.endsWith('.batch')) paths.add(path);
  return paths;
}

/** What the audits of a crash run found so far. */
export interface CrashAuditStats {
  /** Batch files created after a writer's death (completed from the log). */
  rolledForward: number;
  /** Audits after which some batch had been completed from the log. */
  killsRolledForward: number;
  auditMs: number;
}

/**
 * The audit of the feed's crash tests, run after each writer has ended (killed or not),
 * while no writer runs: a new reader reads the whole feed (completing the batches the
 * writer logged and did not store), then the feed is checked against the store, the log,
 * the acknowledgements and other readers. It remembers each audit's feed, to check that
 * the next one only grew each log at its end. Fails the test (with every problem found)
 * when one does not hold.
 */
export function feedCrashAuditor(open: Opener, fileSystem: FileSystem, random: () => number) {
  /** The previous audit's feed, each log's batches as lines, and its last checkpoint. */
  let previous: { logs: string[][]; last: string | undefined } = { logs: [], last: undefined };
  const stats: CrashAuditStats = { rolledForward: 0, killsRolledForward: 0, auditMs: 0 };

  /**
   * `acks`: every save acknowledged so far. `before`: the batch files listed when the
   * writer had just ended (default: when the audit starts); those created since were
   * completed from the log (by the audit's reader, or by consumers reading meanwhile).
   */
  const audit = async (
    context: string,
    acks: readonly Ack[],
    before?: ReadonlySet<string>,
  ): Promise<{ feed: FeedBatch[]; log: LogContents; batches: number }> => {
    const at = Date.now();
    const listed = before ?? (await batchFiles(fileSystem));
    const feed = await readFeed(open);
    const store = await auditStore(fileSystem);
    const rolled = store.batchFiles.filter((f) => !listed.has(f.path));
    const acknowledged = new Set(acks.flatMap((a) => a.tags));
    const log = await readLog(fileSystem);
    const inFeed = new Set(feed.map((b) => placeOf(b, store.feedLayout)));
    const logs = partitionLines(feed, store.feedLayout);
    // Batches logged after the previous audit, by partition: what a reader resuming from its last checkpoint must see.
    const resumed = partitionLines(
      await readFeed(open, previous.last === undefined ? {} : { from: previous.last }),
      store.feedLayout,
    );
    expect(
      {
        layout: store.feedLayout,
        // Every file decodes, versions run 1..n, snapshots and Repository.get agree, every ack is stored.
        store: [...store.problems, ...missingAcks(acks, store.tags)],
        // (a) every acknowledged save is in the feed once, with its versions and events.
        acknowledgedSaves: ackProblems(acks, feed),
        // (b) the batch files are exactly the feed's batches; (c) each aggregate's come as versions 1..n, in order.
        feedVersusStore: feedProblems(feed, store),
        // The log has no gap (a compacted entry's segment covers it), and with one writer at
        // a time every batch it logged is in the feed.
        log: [
          ...log.problems,
          ...log.logged
            .filter((l) => !inFeed.has(l.checkpoint))
            .map((l) => `logged at ${l.checkpoint} (${l.id} v${l.first}) but not in the feed`),
        ],
        // A batch completed from the log was never acknowledged (its writer died before storing it).
        rolledForwardButAcknowledged: rolled.filter((f) => f.tags.some((t) => acknowledged.has(t))).map((f) => f.path),
        // What an earlier reader saw is never changed: each log only grows at its end (the merge
        // of K logs may place new batches among old ones), and a reader resuming from the
        // earlier reader's last checkpoint sees exactly what each log gained since.
        earlierFeedChanged: logs.flatMap((lines, p) => {
          const earlier = previous.logs[p] ?? [];
          const grown = lines.slice(0, earlier.length).join('\n') === earlier.join('\n');
          const rest = lines.slice(earlier.length).join('\n') === (resumed[p] ?? []).join('\n');
          return [
            ...(grown ? [] : [`${context}: partition ${p}'s earlier batches changed`]),
            ...(rest ? [] : [`${context}: resuming from ${previous.last} does not yield partition ${p}'s new batches`]),
          ];
        }),
        // (d) two more readers see the same sequence; a reader resuming from a checkpoint sees the rest.
        readers: await readerProblems(open, feed, Math.floor(random() * (feed.length + 1))),
        // (e) Repository.get agrees with the feed's last version of each aggregate.
        repository: await repositoryProblems(fileSystem, feed),
      },
      context,
    ).toEqual({
      layout: FEED_LAYOUT,
      store: [],
      acknowledgedSaves: [],
      feedVersusStore: [],
      log: [],
      rolledForwardButAcknowledged: [],
      earlierFeedChanged: [],
      readers: [],
      repository: [],
    });
    previous = { logs, last: feed.at(-1)?.checkpoint ?? previous.last };
    stats.rolledForward += rolled.length;
    if (rolled.length > 0) stats.killsRolledForward++;
    stats.auditMs += Date.now() - at;
    return { feed, log, batches: store.batches };
  };
  return { audit, stats };
}
