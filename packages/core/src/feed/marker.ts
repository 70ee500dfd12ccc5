import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import { decodeMarker, FEED_MARKER, type FeedLayout } from './layout.js';

/**
 * The store's feed layout, from its marker; `undefined` when its feed is not on.
 * @throws {CorruptFileError} when the marker says something else than a layout.
 */
export async function readLayout(fs: FileSystem): Promise<FeedLayout | undefined> {
  const marker = await GuardedFileSystem.of(fs).read(FEED_MARKER);
  return marker === undefined ? undefined : decodeMarker(marker);
}
