import {
  batchPath,
  decodeSegment,
  ErrorCode,
  encodeSegment,
  isEvsrcError,
  snapshotPath,
  versionInName,
} from '@evsrc/core';
import { describe, expect, it } from 'vitest';

describe('layout', () => {
  it('names batches and snapshots by version, sortable as text', () => {
    expect(batchPath('account', 'a-1', 1)).toBe('account/a-1/events/000000000001.batch');
    expect(snapshotPath('account', 'a-1', 250)).toBe('account/a-1/snapshots/000000000250.snap');
    expect(batchPath('account', 'x', 9) < batchPath('account', 'x', 10)).toBe(true);
    expect(versionInName(batchPath('t', 'i', 42), '.batch')).toBe(42);
    expect(versionInName('t/i/events/42.batch', '.batch')).toBeUndefined();
    expect(versionInName('t/i/events/000000000042.snap', '.batch')).toBeUndefined();
  });

  it('encodes ids into one lowercase-safe segment that cannot escape its folder', () => {
    expect(encodeSegment('order-42_x')).toBe('order-42_x');
    expect(encodeSegment('../x')).toBe('%2e%2e%2fx');
    expect(encodeSegment('A')).toBe('%41');
    expect(encodeSegment('é')).toBe('%c3%a9');
    expect(encodeSegment('e\u0301')).toBe('e%cc%81');
    for (const id of ['..', '.', '/', '\\', '\0', '%2e%2e', ' ', 'C:\\x', '😀']) {
      const s = encodeSegment(id);
      expect(s).toMatch(/^[a-z0-9_%-]+$/);
      expect(decodeSegment(s)).toBe(id);
    }
  });

  it('maps distinct ids to distinct segments, also under case folding', () => {
    const ids = ['a', 'A', '%41', '%2541', 'é', 'e\u0301', 'ℌ', 'H', 'ß', 'ss', 'İ', 'i', 'a.b', 'a%2eb', 'a b', 'a+b'];
    const segs = ids.map((id) => encodeSegment(id));
    expect(new Set(segs).size).toBe(ids.length);
    expect(new Set(segs.map((s) => s.toLowerCase())).size).toBe(ids.length);
  });

  it('refuses empty, malformed and overlong ids with a typed error', () => {
    for (const bad of ['', '\ud800', 'x'.repeat(201), '😀'.repeat(60)]) {
      let err: unknown;
      try {
        encodeSegment(bad);
      } catch (e) {
        err = e;
      }
      expect(isEvsrcError(err, ErrorCode.InvalidId), JSON.stringify(bad.slice(0, 5))).toBe(true);
    }
    expect(encodeSegment('x'.repeat(200))).toHaveLength(200);
  });
});
