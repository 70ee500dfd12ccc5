import { crc32 } from 'node:zlib';
import { CorruptFileError } from '@evsrc/core';
import { decodeEntry, encodeEntry, readEntry, writeFile } from '@evsrc/core/internals';
import { describe, expect, it } from 'vitest';

const batch = writeFile(
  { kind: 'batch', parser: 'json', type: 't', id: 'i', first: 1, last: 1, commit: 'c', feed: '7:0' },
  new TextEncoder().encode('[]'),
);
const entry = () =>
  encodeEntry(7, [
    { path: 't/i/events/000000000001.batch', type: 't', id: 'i', first: 1, last: 1, commit: 'c', bytes: batch },
  ]);

/** The `id` and `prev` of an entry, as a reader sees them. */
function decodeEntryLinks(path: string, bytes: Uint8Array, position: number): { id?: string; prev?: string } {
  const { id, prev } = readEntry(path, bytes, position);
  return { ...(id === undefined ? {} : { id }), ...(prev === undefined ? {} : { prev }) };
}

/** The entry with header fields added, sealed again as the envelope seals headers. */
function withFields(bytes: Uint8Array, fields: Record<string, unknown>): Uint8Array {
  const end = bytes.indexOf(0x0a);
  const { hcrc32: _, ...header } = JSON.parse(new TextDecoder().decode(bytes.subarray(0, end)));
  const covered = JSON.stringify({ ...header, ...fields }).slice(0, -1);
  return Buffer.concat([Buffer.from(`${covered},"hcrc32":${crc32(covered)}}\n`), bytes.subarray(end + 1)]);
}

describe('feed entry links', () => {
  it('reads id and prev from the header, and nothing from entries written without them', () => {
    const path = '.evsrc/feed/000000000/000000000007.entry';
    expect(decodeEntryLinks(path, entry(), 7)).toEqual({});
    const linked = withFields(entry(), { id: '0123456789abcdef', prev: 'fedcba9876543210' });
    expect(decodeEntryLinks(path, linked, 7)).toEqual({ id: '0123456789abcdef', prev: 'fedcba9876543210' });
    // encodeEntry writes them.
    const written = encodeEntry(7, readEntry(path, entry(), 7).batches, {
      id: '00000000000000aa',
      prev: '00000000000000bb',
    });
    expect(decodeEntryLinks(path, written, 7)).toEqual({ id: '00000000000000aa', prev: '00000000000000bb' });
    // The batches read the same with the links.
    expect(decodeEntry(path, linked, 7).map((b) => b.path)).toEqual(['t/i/events/000000000001.batch']);
  });

  it('refuses malformed links and an altered header with CorruptFileError naming the entry', () => {
    const path = '.evsrc/feed/000000000/000000000007.entry';
    for (const bad of [{ id: 'ABCDEF0123456789' }, { prev: '0123' }, { id: 12 }, { prev: null }]) {
      expect(() => decodeEntryLinks(path, withFields(entry(), bad), 7), JSON.stringify(bad)).toThrow(CorruptFileError);
    }
    const linked = withFields(entry(), { id: '0123456789abcdef' });
    const altered = Buffer.from(linked);
    altered[new TextDecoder().decode(linked).indexOf('0123456789abcdef')] = 0x31; // '0' → '1'
    expect(() => decodeEntryLinks(path, altered, 7)).toThrow(/feed entry|header/);
    expect(() => decodeEntryLinks(path, altered, 7)).toThrow(CorruptFileError);
  });
});
