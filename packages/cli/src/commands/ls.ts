import type { FileSystem } from '@evsrc/core';
import { encodeSegment, listAggregateIds, listAggregateTypes } from '@evsrc/core/internals';
import type { Output } from '../output.js';

/**
 * `evsrc ls <url> [type]`: the aggregate types of a store, or the ids of one type, one
 * per line, streamed as they are found (one short listing per name, not per file).
 */
export async function ls(fs: FileSystem, type: string | undefined, out: Output): Promise<number> {
  const names =
    type === undefined ? listAggregateTypes(fs) : listAggregateIds(fs, `${encodeSegment(type, 'aggregate type')}/`);
  let count = 0;
  for await (const found of names) {
    if (found.name === undefined) {
      out.note(`not an evsrc folder: ${found.folder}`);
      continue;
    }
    out.line(found.name);
    count++;
  }
  return count;
}
