import { compareNames } from '@evsrc/core/adapter';

/** The most names one List Blobs request returns. */
export const MAX_PAGE_SIZE = 5000;

/** How to list the names under a prefix that come after `startAfter`. */
export interface ListingPlan {
  /** No name can match: make no request at all. */
  readonly empty: boolean;
  /** Drop every name up to and including this one (done on the client, always). */
  readonly after?: string;
  /**
   * Where the service may start listing (inclusive), as a path: a prefix of `after`, so
   * it never skips a name that belongs in the result.
   */
  readonly startFrom?: string;
}

/**
 * Plans a listing of `prefix` after `startAfter`.
 *
 * - `startAfter` sorts before every name with the prefix: list the whole prefix.
 * - `startAfter` sorts after every name with the prefix: nothing to list.
 * - Otherwise (it starts with the prefix): filter on the client, and let the service
 *   start at `startAfter` when it can (`startFrom`, inclusive). `startFrom` is cut before
 *   the first character at or above U+D800: below that, UTF-8 and UTF-16 order agree, so
 *   the service cannot skip a wanted name whichever of the two it sorts by.
 */
export function planListing(prefix: string, startAfter: string | undefined): ListingPlan {
  if (startAfter === undefined) return { empty: false };
  if (!startAfter.startsWith(prefix)) {
    return { empty: compareNames(startAfter, prefix) > 0 };
  }
  const safe = startAfter.slice(0, firstAtOrAboveD800(startAfter));
  return safe.length > prefix.length
    ? { empty: false, after: startAfter, startFrom: safe }
    : { empty: false, after: startAfter };
}

function firstAtOrAboveD800(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xd800) return i;
  return s.length;
}

/** The size of the next page: the caller's hint, no more than needed, within the service's bounds. */
export function pageSizeFor(hint: number | undefined, wanted: number): number {
  const size = Math.min(hint !== undefined && hint >= 1 ? hint : MAX_PAGE_SIZE, wanted, MAX_PAGE_SIZE);
  return Math.max(1, Math.floor(size));
}
