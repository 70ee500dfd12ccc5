import { RESERVED_FOLDER } from '../feed/layout.js';
import { decodeSegment } from '../format/layout.js';
import type { FileSystem } from '../storage/file-system.js';

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
 * segment (it skips past each folder instead of listing every file in it); a file directly
 * under the prefix is yielded as `{ file }`.
 */
async function* folders(
  fs: FileSystem,
  prefix: string,
): AsyncGenerator<{ segment: string; folder: string } | { file: string }> {
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
      yield { file: found }; // a file where a folder should be (on local disk, maybe a symbolic link)
      startAfter = found;
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
 * are yielded with `name` undefined so that tools can report them: folders (their `folder`
 * ends with `/`) and files where a folder should be (it does not; on local disk, this is
 * also how a symbolic link shows, which evsrc does not follow).
 */
export async function* listAggregateTypes(
  fs: FileSystem,
): AsyncGenerator<FoundName | { name: undefined; folder: string }> {
  for await (const found of folders(fs, '')) {
    if ('file' in found) yield { name: undefined, folder: found.file };
    else if (found.folder !== RESERVED_FOLDER)
      yield { name: decodeSegment(found.segment), folder: found.folder } as FoundName;
    // else: the feed, projections: evsrc's own, not an aggregate type
  }
}

/**
 * Lists the ids of one aggregate type folder (as given by {@link listAggregateTypes}), in
 * order; names that are not evsrc-encoded folders as there.
 */
export async function* listAggregateIds(
  fs: FileSystem,
  typeFolder: string,
): AsyncGenerator<FoundName | { name: undefined; folder: string }> {
  for await (const found of folders(fs, typeFolder)) {
    if ('file' in found) yield { name: undefined, folder: found.file };
    else yield { name: decodeSegment(found.segment), folder: found.folder } as FoundName;
  }
}
