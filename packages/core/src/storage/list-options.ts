import type { ListOptions } from './file-system.js';
import { assertValidPrefix } from './paths.js';

/**
 * The opening every adapter's `FileSystem.list` shares: the prefix checked, the
 * `limit` (or `Infinity`), `startAfter`, the page size capped, and a wrapper that stops
 * after `limit` names.
 *
 * @module
 */

/** A `FileSystem.list` call whose options were checked: see {@link openListing}. */
export interface Listing {
  /** The checked prefix. */
  readonly prefix: string;
  /** `options.startAfter` as given. */
  readonly startAfter: string | undefined;
  /** `options.limit`, or `Infinity` when there is none; always above 0. */
  readonly limit: number;
  /** How many names are still wanted: `limit` minus the names yielded by {@link Listing.take}. */
  readonly remaining: number;
  /**
   * The page size to ask the backend for: `options.pageSize` (or `fallback`) rounded
   * down, at least 1, at most `max` and at most `limit`.
   */
  pageSize(fallback: number, max?: number): number;
  /** Yields the names of `names` until `limit` of them were yielded, then stops pulling. */
  take(names: AsyncIterable<string>): AsyncGenerator<string>;
}

/**
 * Opens a listing: checks `prefix` and reads `options`. Returns `undefined` when there is
 * nothing to list (`limit` of 0 or less); the adapter then returns without a request.
 * @throws {InvalidPathError} (from `assertValidPrefix`) if `prefix` is not a valid prefix.
 */
export function openListing(prefix: string, options: ListOptions = {}): Listing | undefined {
  assertValidPrefix(prefix);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (limit <= 0) return undefined;
  let yielded = 0;
  return {
    prefix,
    startAfter: options.startAfter,
    limit,
    get remaining() {
      return limit - yielded;
    },
    pageSize(fallback, max = Number.POSITIVE_INFINITY) {
      return Math.min(max, limit, Math.max(1, Math.floor(options.pageSize ?? fallback)));
    },
    async *take(names) {
      if (yielded >= limit) return;
      for await (const name of names) {
        yield name;
        if (++yielded >= limit) return;
      }
    },
  };
}
