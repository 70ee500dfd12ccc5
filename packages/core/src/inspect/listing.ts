import { RESERVED_FOLDER } from '../feed/layout.js';
import { decodeSegment } from '../format/layout.js';
import type { FileSystem } from '../fs/file-system.js';

/**
 * Sorts after every name inside an encoded folder: encoded segments and evsrc's file names
 * use only `[a-z0-9_%.-]` and `/`, all below `~` (0x7E).
 */
const PAST_FOLDER = '~';

/** An aggregate type or id found in a store, with the encoded folder it lives in. */
export interface FoundName {
  /** The decoded type or id. */
  readonly name: string;
  /** Its folder in the store, with a trailing `/`. */
  readonly folder: string;
}

/**
 * Yields the distinct first segments under `prefix`, in order, with one short listing per
 * segment (it skips past each folder instead of listing every file in it).
 */
async function* folders(fs: FileSystem, prefix: string): AsyncGenerator<{ segment: string; folder: string }> {
  let startAfter: string | undefined;
  for (;;) {
    let found: string | undefined;
    for await (const name of fs.list(prefix, startAfter === undefined ? { limit: 1 } : { startAfter, limit: 1 })) {
      found = name;
    }
    if (found === undefined) return;
    const rest = found.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) {
      startAfter = found; // a file directly under the prefix: not a folder, step over it
      continue;
    }
    const segment = rest.slice(0, slash);
    const folder = `${prefix}${segment}/`;
    yield { segment, folder };
    startAfter = `${folder}${PAST_FOLDER}`;
  }
}

/**
 * Lists the aggregate types stored, in order. Names that are not evsrc-encoded folders
 * are yielded with `name` undefined so that tools can report them.
 */
export async function* listAggregateTypes(
  fs: FileSystem,
): AsyncGenerator<FoundName | { name: undefined; folder: string }> {
  for await (const { segment, folder } of folders(fs, '')) {
    if (folder === RESERVED_FOLDER) continue; // the feed, projections: evsrc's own, not an aggregate type
    yield { name: decodeSegment(segment), folder } as FoundName;
  }
}

/** Lists the ids of one aggregate type folder (as given by {@link listAggregateTypes}), in order. */
export async function* listAggregateIds(
  fs: FileSystem,
  typeFolder: string,
): AsyncGenerator<FoundName | { name: undefined; folder: string }> {
  for await (const { segment, folder } of folders(fs, typeFolder))
    yield { name: decodeSegment(segment), folder } as FoundName;
}
