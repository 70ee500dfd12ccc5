import type { StoredBatch } from '../model/aggregate.js';

/** A cached aggregate: a deep copy of its state at a stored version. */
export interface CachedState {
  readonly version: number;
  readonly timestamp: number;
  readonly state: unknown;
  /** The stored batch that ends at `version`. */
  readonly batch: StoredBatch;
}

/**
 * A small LRU of aggregate states. The repository never serves an entry as it is: it
 * always lists the store for batches newer than the entry and applies them, and it drops
 * the entry on a concurrency conflict, so the cache can make loads cheaper but never stale.
 */
export class AggregateCache {
  readonly #entries = new Map<string, CachedState>();

  constructor(readonly maxEntries: number) {}

  get(key: string): CachedState | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: CachedState): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
