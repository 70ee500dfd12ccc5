import { InvalidIdError } from '../errors.js';

/**
 * Where an aggregate's files live:
 *
 * ```text
 * {type}/{id}/events/{first version, 12 digits}.batch
 * {type}/{id}/snapshots/{version, 12 digits}.snap
 * ```
 *
 * `type` and `id` are encoded by {@link encodeSegment}, so no id can leave its folder and
 * two distinct ids never share files.
 *
 * @module
 */

/** The longest encoded id or type, in bytes: keeps every segment within the 255-byte limit of local file systems. */
export const MAX_SEGMENT_BYTES = 200;

/** The largest version a file name can hold. */
export const MAX_VERSION = 999_999_999_999;

const RAW = /^[a-z0-9_-]$/;
const hex = (b: number) => `%${b.toString(16).padStart(2, '0')}`;

/**
 * Encodes an id or type name into one path segment. Lowercase ASCII letters, digits, `_`
 * and `-` stay as they are; every other UTF-8 byte (uppercase letters and `.` included)
 * becomes `%xx` with lowercase hex. The result is injective (distinct strings give
 * distinct segments), contains only `[a-z0-9_%-]`, so it is safe on case-insensitive file
 * systems, and is never `.` or `..`. No Unicode normalisation is applied: `é` (NFC) and
 * `é` (NFD) are different ids.
 *
 * @throws {InvalidIdError} for an empty value, a lone surrogate, or an encoding longer than {@link MAX_SEGMENT_BYTES}.
 */
export function encodeSegment(value: string, kind: 'aggregate id' | 'aggregate type' = 'aggregate id'): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidIdError(kind, String(value), 'it is empty');
  if (!value.isWellFormed()) throw new InvalidIdError(kind, value, 'it contains a lone surrogate (not valid Unicode)');
  let out = '';
  for (const ch of value) {
    if (RAW.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += hex(b);
    if (out.length > MAX_SEGMENT_BYTES) {
      throw new InvalidIdError(kind, value, `it is too long (its encoding exceeds ${MAX_SEGMENT_BYTES} bytes)`);
    }
  }
  return out;
}

/** Reverses {@link encodeSegment}; `undefined` if `segment` is not a valid encoding. */
export function decodeSegment(segment: string): string | undefined {
  if (!/^(?:[a-z0-9_-]|%[0-9a-f]{2})+$/.test(segment)) return undefined;
  try {
    const decoded = decodeURIComponent(segment);
    return encodeSegment(decoded) === segment ? decoded : undefined;
  } catch {
    return undefined;
  }
}

const pad = (version: number) => String(version).padStart(12, '0');

function assertVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 0 || version > MAX_VERSION) {
    throw new RangeError(`Version out of range: ${version}`);
  }
}

/** The folder (with trailing `/`) of one aggregate. */
export function aggregateFolder(type: string, id: string): string {
  return `${encodeSegment(type, 'aggregate type')}/${encodeSegment(id)}/`;
}

/** The folder (with trailing `/`) of an aggregate's batch files. */
export function eventsFolder(type: string, id: string): string {
  return `${aggregateFolder(type, id)}events/`;
}

/** The folder (with trailing `/`) of an aggregate's snapshots. */
export function snapshotsFolder(type: string, id: string): string {
  return `${aggregateFolder(type, id)}snapshots/`;
}

/** The name of the batch file whose first event has version `firstVersion`. */
export function batchPath(type: string, id: string, firstVersion: number): string {
  assertVersion(firstVersion);
  return `${eventsFolder(type, id)}${pad(firstVersion)}.batch`;
}

/** The name of the snapshot of the state after version `version`. */
export function snapshotPath(type: string, id: string, version: number): string {
  assertVersion(version);
  return `${snapshotsFolder(type, id)}${pad(version)}.snap`;
}

/** The version in a batch or snapshot file name, or `undefined` if the name is not one of ours. */
export function versionInName(path: string, extension: '.batch' | '.snap'): number | undefined {
  const slash = path.lastIndexOf('/');
  const base = path.slice(slash + 1);
  if (base.length !== 12 + extension.length || !base.endsWith(extension)) return undefined;
  const digits = base.slice(0, 12);
  return /^\d{12}$/.test(digits) ? Number(digits) : undefined;
}
