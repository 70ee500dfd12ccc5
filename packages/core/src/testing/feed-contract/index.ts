import { afterEach, describe } from 'vitest';
import type { FileSystem } from '../../storage/file-system.js';
import type { RepositoryContractOptions } from '../repository-contract.js';
import { compactionTests } from './compaction.js';
import { harness, VARIANTS } from './harness.js';
import { lossTests } from './loss.js';
import { legacyStoreTests, partitionTests } from './partitions.js';
import { readingTests } from './reading.js';
import { rollForwardTests } from './roll-forward.js';
import { sharingTests } from './sharing.js';
import { storeTests } from './store.js';
import { watchingTests } from './watching.js';

/** How {@link describeFeedContract} gets file systems to test (as the repository suite does). */
export interface FeedContractOptions
  extends Pick<RepositoryContractOptions, 'create' | 'secondClient' | 'dispose' | 'timeout'> {
  /** Saves per writer in the concurrent-writers test (default 15). */
  savesPerWriter?: number;
  /**
   * The file system's `watch` hears other clients' writes (native notifications): then a
   * watcher polling once a minute must still get each batch at once. Leave it out for
   * stores that only poll.
   */
  notifies?: boolean;
}

/**
 * Defines the change feed's suite over a `FileSystem` under vitest: the invariants of
 * `docs/reference/feed.md` (every acknowledged batch exactly once, failed saves never,
 * resuming from a checkpoint, no hole behind a reader's checkpoint when writers are slow
 * or die after logging, a lost tail detected), watching, type filters, projections, and
 * partitions — against the real store, both on the one log of a store from before
 * partitions and on a feed of 4 partitions.
 */
export function describeFeedContract(name: string, options: FeedContractOptions): void {
  const created: FileSystem[] = [];
  const create = async () => {
    const fs = await options.create();
    created.push(fs);
    return fs;
  };
  const other = async (fs: FileSystem) => {
    if (!options.secondClient) return fs;
    const second = await options.secondClient(fs);
    created.push(second);
    return second;
  };
  const base = {
    timeout: options.timeout ?? 60_000,
    perWriter: options.savesPerWriter ?? 15,
    notifies: options.notifies ?? false,
    create,
    other,
  };

  afterEach(async () => {
    const all = created.splice(0);
    for (const fs of all) {
      if (options.dispose) await options.dispose(fs);
      else await fs.close?.();
    }
  });

  describe(`change feed contract: ${name}`, () => {
    for (const variant of VARIANTS) {
      describe(variant.name, () => {
        const h = harness(base, variant);
        lossTests(h);
        readingTests(h);
        rollForwardTests(h);
        watchingTests(h);
        storeTests(h);
        compactionTests(h);
        if (variant.layout.legacy) legacyStoreTests(h, create);
        else {
          partitionTests(h);
          sharingTests(h);
        }
      });
    }
  });
}
