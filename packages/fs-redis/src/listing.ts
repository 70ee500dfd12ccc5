/**
 * Ordered, paged listing over the per-folder sorted sets.
 *
 * A folder's index holds its files as `name` and its subfolders as `name/`, all with score 0,
 * so `ZRANGEBYLEX` returns them in byte order. Because `/` sorts right after `-` and `.`
 * and before `0`, walking that order depth-first (entering each `name/` where it appears)
 * yields full names in UTF-8 byte order, which is code point order. Each page is one
 * `ZRANGEBYLEX … LIMIT 0 n` on one key; the keyspace is never scanned.
 *
 * @module
 */
import { compareNames } from '@evsrc/core/adapter';

/** Reads one page of a folder index: members `>= min` (or `> min`) and `< max`, at most `count`. */
export type PageReader = (folder: string, min: string, max: string | Buffer, count: number) => Promise<string[]>;

/** Where a walk starts and what it yields. */
export interface Walk {
  /** The folder to list (`''` or ending with `/`). */
  readonly folder: string;
  /** Only members of `folder` that start with this (at the top level only). */
  readonly namePrefix: string;
  /** Only names strictly greater than this. */
  readonly startAfter: string | undefined;
  /** Members fetched per request. */
  readonly pageSize: number;
}

const BYTE_FF = Buffer.from([0xff]);

/**
 * The `ZRANGEBYLEX` lower bound for a folder, or `undefined` when `startAfter` is past
 * every name in it.
 */
export function lowerBound(folder: string, namePrefix: string, startAfter: string | undefined): string | undefined {
  const byPrefix = namePrefix === '' ? '-' : `[${namePrefix}`;
  if (startAfter === undefined) return byPrefix;
  if (!startAfter.startsWith(folder)) {
    // Before the folder: no constraint; after it: nothing in it is greater.
    return compareNames(startAfter, folder) < 0 ? byPrefix : undefined;
  }
  const rest = startAfter.slice(folder.length);
  if (rest === '') return byPrefix;
  const slash = rest.indexOf('/');
  // `x/y` lies inside the subfolder `x/`: start at that subfolder (inclusive) and let it skip what it must.
  const bound = slash < 0 ? `(${rest}` : `[${rest.slice(0, slash + 1)}`;
  return compareNames(bound.slice(1), namePrefix) >= 0 ? bound : byPrefix;
}

/** The `ZRANGEBYLEX` upper bound: every member starting with `namePrefix` (UTF-8 never holds byte 0xFF). */
export function upperBound(namePrefix: string): string | Buffer {
  return namePrefix === '' ? '+' : Buffer.concat([Buffer.from(`(${namePrefix}`, 'utf8'), BYTE_FF]);
}

/** Yields the names under a folder in code point order, page by page. */
export async function* walk(read: PageReader, w: Walk): AsyncGenerator<string> {
  let min = lowerBound(w.folder, w.namePrefix, w.startAfter);
  if (min === undefined) return;
  const max = upperBound(w.namePrefix);
  for (;;) {
    const page = await read(w.folder, min, max, w.pageSize);
    for (const member of page) {
      if (member.endsWith('/')) {
        yield* walk(read, {
          folder: w.folder + member,
          namePrefix: '',
          startAfter: w.startAfter,
          pageSize: w.pageSize,
        });
      } else {
        yield w.folder + member;
      }
    }
    const last = page.at(-1);
    if (page.length < w.pageSize || last === undefined) return;
    min = `(${last}`;
  }
}
