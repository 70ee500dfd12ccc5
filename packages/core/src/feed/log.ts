import type { FileSystem } from '../storage/file-system.js';
import { compactLog } from './compaction.js';
import { CHUNK, type FeedLayout, partitionOf } from './layout.js';
import { type BatchIntent, FeedWriter, type LoggedIntent } from './writer.js';

/**
 * The store's feed, as its writers see it: one {@link FeedWriter} per partition, each
 * batch sent to its aggregate's partition. Writers also compact in the background: each
 * time a partition's log reaches a new chunk (every 1,000 positions), the writer that took
 * that position compacts what lies more than a chunk behind it (`compaction.ts`).
 */
export class FeedLog {
  readonly layout: FeedLayout;
  readonly #writers: FeedWriter[];
  readonly #compacting = new Set<number>();

  constructor(fs: FileSystem, layout: FeedLayout) {
    this.layout = layout;
    this.#writers = Array.from(
      { length: layout.partitions },
      (_, p) => new FeedWriter(fs, layout, p, (position) => this.#compactBehind(fs, p, position)),
    );
  }

  /** Logs a batch in its aggregate's partition; resolves once its entry is stored. */
  append(intent: BatchIntent): Promise<LoggedIntent> {
    const partition = partitionOf(intent.type, intent.id, this.layout.partitions);
    return (this.#writers[partition] as FeedWriter).append(intent);
  }

  #compactBehind(fs: FileSystem, partition: number, position: number): void {
    if (position % CHUNK !== 0 || position < 2 * CHUNK || this.#compacting.has(partition)) return;
    this.#compacting.add(partition);
    // Best effort: a failure leaves the entries whole (readers need nothing else); the next chunk tries again.
    void compactLog(fs, this.layout, partition, CHUNK)
      .catch(() => undefined)
      .finally(() => this.#compacting.delete(partition));
  }
}
