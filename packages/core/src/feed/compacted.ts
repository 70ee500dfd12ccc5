import { CorruptFileError } from '../errors.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem } from '../storage/guarded.js';
import { chunkFolder, entryPath } from './layout.js';
import { decodeLogSegment, type SegmentEntry, segmentRange } from './segment.js';

/**
 * Finds what a compacted log entry (an empty entry file) said, in the segment that covers
 * its position. Segments never change once written, so they are cached (the few newest).
 */
export class SegmentIndex {
  readonly #fs: GuardedFileSystem;
  /** Decoded segments by path, most recently used last. */
  readonly #segments = new Map<string, SegmentEntry[]>();

  constructor(fs: FileSystem) {
    this.#fs = GuardedFileSystem.of(fs);
  }

  /**
   * The compacted entry at `position` of the log in `folder`.
   * @throws {CorruptFileError} naming the entry when no segment covers it.
   */
  async entryAt(folder: string, position: number): Promise<SegmentEntry> {
    for (const [path, entries] of this.#segments) {
      const first = entries[0]?.position ?? 0;
      if (path.startsWith(folder) && segmentFolder(path) === chunkFolder(position, folder) && position >= first) {
        const entry = entries[position - first];
        if (entry) return entry;
      }
    }
    const chunk = chunkFolder(position, folder);
    for await (const name of this.#fs.list(chunk)) {
      const range = segmentRange(name);
      if (!range || position < range.first || position > range.last) continue;
      const bytes = await this.#fs.read(name);
      if (bytes === undefined) continue;
      const entries = decodeLogSegment(name, bytes);
      this.#segments.set(name, entries);
      if (this.#segments.size > KEEP) this.#segments.delete(this.#segments.keys().next().value as string);
      return entries[position - range.first] as SegmentEntry;
    }
    throw new CorruptFileError(
      entryPath(position, folder),
      'a compacted log entry, and no segment covers its position',
    );
  }
}

const segmentFolder = (path: string) => path.slice(0, path.lastIndexOf('/') + 1);

/** Segments kept decoded. */
const KEEP = 4;
