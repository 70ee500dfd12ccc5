import { ErrorCode, InvalidPathError, isEvsrcError } from '@evsrc/core';
import { describe, expect, it } from 'vitest';
import { assertValidKeyPrefix, folderOf, hashTag, KeyLayout, slotHead } from '../src/keys.js';
import { lowerBound, upperBound } from '../src/listing.js';
import { hashedPart, parseKey } from './helpers.js';

const layout = new KeyLayout('app:');

// Names chosen to collide under careless encodings: braces, percent signs, the root tag,
// segments that look like key parts, names that differ only in where the folders split.
const tricky = [
  'k',
  '%2F',
  'x',
  'a/b',
  'a/b/c',
  'a/b/c/d',
  'a/b/c/d/e',
  'a/bc',
  'ab/c',
  'a%2Fb/c',
  'a/b%2Fc',
  '{x}/y/z',
  'x}/y/z',
  '{/y/z',
  '%7D/y/z',
  '%257D/y/z',
  'a/}/z',
  'a/{}/z',
  'f:/d:/x',
  ':f:a/b',
  'a/b/:d:x',
  'café/x/y',
  'cafe\u0301/x/y',
  '😀/😀/😀',
  'type/id/events/000000000001.batch',
  'type/id/snapshots/000000000001.snap',
  'type/id2/events/000000000001.batch',
];

describe('key layout', () => {
  it('never maps two names to one key, and a file key never equals a folder key', () => {
    const keys = new Map<string, string>();
    for (const name of tricky) {
      const file = layout.file(name);
      expect(keys.get(file), `${name} vs ${keys.get(file)}`).toBeUndefined();
      keys.set(file, name);
    }
    const folders = new Set([
      '',
      ...tricky.flatMap((n) => n.split('/').map((_, i, s) => `${s.slice(0, i + 1).join('/')}/`)),
    ]);
    for (const folder of folders) {
      const key = layout.folder(folder);
      expect(keys.has(key), key).toBe(false);
      keys.set(key, folder);
    }
  });

  it('round-trips: the name and the hash tag can be read back from the key', () => {
    for (const name of tricky) {
      expect(parseKey('app:', layout.file(name))).toEqual({ tag: hashTag(folderOf(name)), kind: 'f', name });
    }
  });

  it('puts every key of one aggregate in one hash slot, and each write’s script keys in one slot', () => {
    const tags = new Set<string>();
    for (const name of ['type/id/events/000000000001.batch', 'type/id/snapshots/000000000003.snap']) {
      const { file, sameSlot } = layout.keysOf(name);
      for (const key of [file, ...sameSlot.map((e) => e.key)]) tags.add(hashedPart(key));
    }
    expect([...tags]).toEqual(['type/id']);
    // A hostile aggregate folder still gets its own, single slot.
    for (const name of tricky) {
      const { file, sameSlot, otherSlots } = layout.keysOf(name);
      const slot = hashedPart(file);
      for (const e of sameSlot) expect(hashedPart(e.key), `${name}: ${e.key}`).toBe(slot);
      for (const e of otherSlots) expect(hashedPart(e.key), `${name}: ${e.key}`).not.toBe(slot);
      expect(slot).not.toContain('}');
    }
  });

  it('lists a file in its folder and each folder in its parent, nearest first', () => {
    const { file, sameSlot, otherSlots } = layout.keysOf('t/i/events/1.batch');
    expect(file).toBe('app:{t/i}:f:t/i/events/1.batch');
    expect(sameSlot).toEqual([
      { key: 'app:{t/i}:d:t/i/events/', member: '1.batch' },
      { key: 'app:{t/i}:d:t/i/', member: 'events/' },
    ]);
    expect(otherSlots).toEqual([
      { key: 'app:{t}:d:t/', member: 'i/' },
      { key: 'app:{/}:d:', member: 't/' },
    ]);
    expect(layout.keysOf('root-file')).toEqual({
      file: 'app:{/}:f:root-file',
      sameSlot: [{ key: 'app:{/}:d:', member: 'root-file' }],
      otherSlots: [],
    });
  });

  it('escapes braces and percent signs in the hash tag, and gives the root a non-empty tag', () => {
    expect(slotHead('')).toBe('');
    expect(slotHead('a/')).toBe('a');
    expect(slotHead('a/b/c/')).toBe('a/b');
    expect(hashTag('')).toBe('/');
    expect(hashTag('{a}/%/c/')).toBe('%7Ba%7D/%25');
  });

  it('rejects invalid names with InvalidPathError and prefixes with braces with a configuration error', () => {
    for (const bad of ['', '/a', 'a/', 'a//b', 'a/../b', 'a\0b']) {
      expect(() => layout.file(bad)).toThrow(InvalidPathError);
    }
    for (const bad of ['{app}:', 'app}', '{']) {
      const error = (() => {
        try {
          assertValidKeyPrefix(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(isEvsrcError(error, ErrorCode.Configuration), String(bad)).toBe(true);
      expect(() => new KeyLayout(bad)).toThrow(/must not contain/);
    }
    expect(() => new KeyLayout('')).not.toThrow();
  });
});

describe('listing bounds', () => {
  it('starts after startAfter, entering the subfolder that holds it', () => {
    expect(lowerBound('o/', '', undefined)).toBe('-');
    expect(lowerBound('o/', 'a', undefined)).toBe('[a');
    expect(lowerBound('o/', '', 'o/b')).toBe('(b');
    expect(lowerBound('o/', '', 'o/b/c')).toBe('[b/');
    expect(lowerBound('o/', '', 'o/')).toBe('-');
    expect(lowerBound('o/', '', 'n')).toBe('-');
    expect(lowerBound('o/', '', 'o')).toBe('-');
    expect(lowerBound('o/', '', 'p')).toBeUndefined();
    expect(lowerBound('o/', 'c', 'o/b')).toBe('[c');
    expect(lowerBound('o/', 'b', 'o/b')).toBe('(b');
  });

  it('ends after the last member that starts with the prefix', () => {
    expect(upperBound('')).toBe('+');
    expect(upperBound('é')).toEqual(Buffer.from([0x28, 0xc3, 0xa9, 0xff]));
  });
});
