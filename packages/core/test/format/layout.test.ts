import { ErrorCode, isEvsrcError } from '@evsrc/core';
import { batchPath, decodeSegment, encodeSegment, snapshotPath, versionInName } from '@evsrc/core/internals';
import { hostileIds, isUnstorableId } from '@evsrc/core/testing/vitest';
import fc from 'fast-check';
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

  it('encodes every storable id reversibly into one safe segment, and refuses the rest (fast-check)', {
    timeout: 60_000,
  }, () => {
    let ids = 0;
    let refused = 0;
    const anyId = fc.oneof(
      hostileIds(8),
      fc.array(fc.string({ unit: 'binary', maxLength: 80 }), { maxLength: 8 }),
      fc.array(fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }), {
        maxLength: 8,
      }),
    );
    fc.assert(
      fc.property(anyId, (batch) => {
        for (const id of batch) {
          ids++;
          let segment: string | undefined;
          let error: unknown;
          try {
            segment = encodeSegment(id);
          } catch (e) {
            error = e;
          }
          expect(error !== undefined, JSON.stringify(id)).toBe(isUnstorableId(id));
          if (error !== undefined) {
            refused++;
            expect(isEvsrcError(error, ErrorCode.InvalidId)).toBe(true);
            continue;
          }
          // decode(encode(id)) === id: the encoding is injective, so two distinct ids never share a folder.
          expect(segment).toMatch(/^[a-z0-9_%-]{1,200}$/);
          expect(decodeSegment(segment as string)).toBe(id);
        }
      }),
      { numRuns: 5_000 },
    );
    console.info(`layout property: ${ids} ids tried, ${refused} refused`);
  });
});
