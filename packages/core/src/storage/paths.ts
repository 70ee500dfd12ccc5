import { InvalidPathError } from '../errors.js';

/** The longest file name, in UTF-8 bytes, that every adapter must accept. */
export const MAX_PATH_BYTES = 1024;

/**
 * Checks a file name against the {@link FileSystem} naming rules.
 * @throws {InvalidPathError} naming the rule that was broken.
 */
export function assertValidPath(path: string): void {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidPathError(String(path), 'empty name');
  if (path.includes('\0')) throw new InvalidPathError(path, 'contains NUL');
  if (path.includes('\\')) throw new InvalidPathError(path, 'contains a backslash');
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) {
    throw new InvalidPathError(path, `longer than ${MAX_PATH_BYTES} UTF-8 bytes`);
  }
  for (const segment of path.split('/')) {
    if (segment === '') throw new InvalidPathError(path, 'empty segment (leading, trailing or double "/")');
    if (segment === '.' || segment === '..') throw new InvalidPathError(path, `"${segment}" segment`);
  }
  if (!path.isWellFormed()) throw new InvalidPathError(path, 'contains a lone surrogate (not valid Unicode)');
}

/**
 * Checks a listing prefix: a name cut anywhere. Every segment but the last must be valid;
 * the last may be partial (`.`, empty after a trailing `/`), since names like `.x` may follow.
 * @throws {InvalidPathError}
 */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  if (typeof prefix !== 'string') throw new InvalidPathError(String(prefix), 'not a string');
  const segments = prefix.split('/');
  segments.pop();
  // A stand-in last segment that is always valid: checks the rest with the rules of names.
  assertValidPath([...segments, 'x'].join('/'));
  if (prefix.includes('\0') || prefix.includes('\\') || !prefix.isWellFormed()) {
    throw new InvalidPathError(prefix, 'contains NUL, a backslash or a lone surrogate');
  }
}

/**
 * Compares two names in Unicode code point order, which equals the order of their UTF-8
 * bytes: the order `FileSystem.list` must yield.
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order differs from code point order only between a surrogate and U+E000..U+FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      const cx = a.codePointAt(i) ?? x;
      const cy = b.codePointAt(i) ?? y;
      return cx < cy ? -1 : 1;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
