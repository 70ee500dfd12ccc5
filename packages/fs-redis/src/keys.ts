/**
 * How file names map to Redis keys.
 *
 * ```text
 * {prefix}{tag}:f:{name}     the file's bytes (a Redis string)
 * {prefix}{tag}:d:{folder}   the folder's index (a sorted set, every score 0): its files as
 *                            `name`, its subfolders as `name/`
 * ```
 *
 * `folder` is empty for the root or ends with `/`. The hash tag `{tag}` is made of the first two
 * segments of the folder that holds the file (or that the index describes), so every key of
 * one aggregate (`type/id/events/…`, `type/id/snapshots/…` and their indexes) lands in one
 * Redis Cluster hash slot. `%`, `{` and `}` in the tag are written as `%25`, `%7B`, `%7D`,
 * and the root's tag is `/`, so a tag is never empty and never holds `}`.
 *
 * The key is injective: the prefix holds no `{`, so the tag runs from the first `{` to the
 * first `}`, and the complete name follows it verbatim.
 *
 * @module
 */
import { ConfigurationError } from '@evsrc/core';
import { assertValidPath } from '@evsrc/core/adapter';

/** The hash tag of the keys of root-level files and of the root index. */
export const ROOT_TAG = '/';

/** Where a file is listed: the sorted set of a folder and the file's (or subfolder's) member in it. */
export interface IndexEntry {
  /** The key of the folder's sorted set. */
  readonly key: string;
  /** The member: a file's last segment, or a subfolder's last segment followed by `/`. */
  readonly member: string;
}

/** Every key a write of one file touches. */
export interface FileKeys {
  /** The key that holds the file's bytes. */
  readonly file: string;
  /**
   * Entries in the file's hash slot, from the file's own folder upward: the file in its
   * folder first, then each ancestor folder that shares the slot.
   */
  readonly sameSlot: readonly IndexEntry[];
  /** Entries of ancestor folders in other hash slots (the root and first-level folders). */
  readonly otherSlots: readonly IndexEntry[];
}

/**
 * Throws a {@link ConfigurationError} if a key prefix holds `{` or `}`: Redis Cluster would
 * take the hash tag from the prefix and put every key in one slot, or split an aggregate.
 */
export function assertValidKeyPrefix(prefix: string, what = 'prefix'): void {
  if (typeof prefix !== 'string') throw new ConfigurationError(`@evsrc/fs-redis: the key ${what} must be a string`);
  if (/[{}]/.test(prefix)) {
    throw new ConfigurationError(
      `@evsrc/fs-redis: the key ${what} ${JSON.stringify(prefix)} must not contain "{" or "}" (they would change the hash slot of every key)`,
    );
  }
}

/** The folder of a name: everything up to and including its last `/`; `''` at the root. */
export function folderOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/') + 1);
}

/** The first two segments of a folder (`a/b/c/` → `a/b`, `a/` → `a`, `''` → `''`): what picks the hash slot. */
export function slotHead(folder: string): string {
  const first = folder.indexOf('/');
  if (first < 0) return '';
  const second = folder.indexOf('/', first + 1);
  return folder.slice(0, second < 0 ? first : second);
}

/** The hash tag (without braces) of the keys of a folder's index and of the files in it. */
export function hashTag(folder: string): string {
  const head = slotHead(folder);
  if (head === '') return ROOT_TAG;
  return head.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** Builds the Redis keys of one store (one key prefix). */
export class KeyLayout {
  /** The key prefix, validated. */
  readonly prefix: string;

  constructor(prefix: string) {
    assertValidKeyPrefix(prefix);
    this.prefix = prefix;
  }

  /** The key of a file's bytes. @throws {InvalidPathError} for an invalid name. */
  file(path: string): string {
    assertValidPath(path);
    return `${this.prefix}{${hashTag(folderOf(path))}}:f:${path}`;
  }

  /** The key of a folder's index (`folder` is `''` or ends with `/`). */
  folder(folder: string): string {
    return `${this.prefix}{${hashTag(folder)}}:d:${folder}`;
  }

  /** Every key a write of `path` touches. @throws {InvalidPathError} for an invalid name. */
  keysOf(path: string): FileKeys {
    const file = this.file(path);
    const folder = folderOf(path);
    const head = slotHead(folder);
    const sameSlot: IndexEntry[] = [{ key: this.folder(folder), member: path.slice(folder.length) }];
    const otherSlots: IndexEntry[] = [];
    // Walk up: the folder `a/b/` is the member `b/` of the index of `a/`.
    for (let child = folder; child !== ''; ) {
      const parent = folderOf(child.slice(0, -1));
      const entry = { key: this.folder(parent), member: child.slice(parent.length) };
      (slotHead(parent) === head ? sameSlot : otherSlots).push(entry);
      child = parent;
    }
    return { file, sameSlot, otherSlots };
  }
}
