import { ErrorCode } from '@evsrc/core';
import {
  decodeLogSegment,
  decodeMarker,
  encodeLogSegment,
  encodeMarker,
  formatVector,
  isCheckpoint,
  LEGACY_LAYOUT,
  parseVector,
  partitionOf,
  segmentPath,
} from '@evsrc/core/internals';
import { describe, expect, it } from 'vitest';

const four = { partitions: 4, legacy: false };

describe('the partition of an aggregate', () => {
  it('is FNV-1a of "{type}\\n{id}" modulo K: pinned, since stores depend on it forever', () => {
    expect(partitionOf('test-account', 'a-1', 32)).toBe(4);
    expect(partitionOf('test-account', 'a-2', 32)).toBe(29);
    expect(partitionOf('cart', 'c-000123', 32)).toBe(23);
    expect(partitionOf('bank-account', 'acc-0', 8)).toBe(3);
    expect(partitionOf('x', 'é🙂', 256)).toBe(13);
    expect(partitionOf('order', 'o-1', 1)).toBe(0);
  });

  it('spreads aggregates over the partitions', () => {
    const counts = new Array(32).fill(0);
    for (let i = 0; i < 32_000; i++) counts[partitionOf('cart', `c-${i}`, 32)]++;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });
});

describe('the feed marker', () => {
  it('records K; "on" is the one log of stores from before partitions; anything else is named as corrupt', () => {
    expect(decodeMarker(encodeMarker(4))).toEqual(four);
    expect(decodeMarker(new TextEncoder().encode('on\n'))).toEqual(LEGACY_LAYOUT);
    for (const bad of [
      'off',
      '{"evsrc":1,"partitions":0}',
      '{"evsrc":1,"partitions":257}',
      '{"evsrc":2,"partitions":4}',
      '',
    ]) {
      expect(() => decodeMarker(new TextEncoder().encode(bad)), bad).toThrow(
        expect.objectContaining({ code: ErrorCode.CorruptFile, path: '.evsrc/feed/enabled' }),
      );
    }
  });
});

describe('vector checkpoints', () => {
  it('round-trip, with empty places for partitions not read yet', () => {
    const vector = [
      { position: 12, index: 0, id: '9f86d081884c7d65' },
      { position: 0, index: 0 },
      { position: 3, index: 1, id: '0a1b2c3d4e5f6071' },
      { position: 0, index: 0 },
    ];
    const checkpoint = formatVector(four, vector);
    expect(checkpoint).toBe('4|12:0:9f86d081884c7d65,,3:1:0a1b2c3d4e5f6071,');
    expect(parseVector(checkpoint, four)).toEqual(vector);
    expect(isCheckpoint(checkpoint)).toBe(true);
    expect(parseVector('0:0', four)).toEqual(new Array(4).fill({ position: 0, index: 0 }));
    expect(parseVector(undefined, four)).toHaveLength(4);
  });

  it('refuses a checkpoint of another feed, naming it', () => {
    const refused =
      (value: string, layout = four) =>
      () =>
        parseVector(value, layout);
    expect(refused('8|,,,,,,,')).toThrow(/8 partitions; this store's feed has 4/);
    expect(refused('4|,,')).toThrow(/3 places for 4 partitions/);
    expect(refused('12:0:9f86d081884c7d65')).toThrow(/12:0:9f86d081884c7d65/);
    expect(refused('4|,,,', LEGACY_LAYOUT)).toThrow(/one log/);
    expect(refused('4|x,,,')).toThrow(expect.objectContaining({ code: ErrorCode.Configuration }));
    for (const bad of ['4|x,,,', '3|,,,', 'yesterday', '']) expect(isCheckpoint(bad), bad).toBe(false);
  });
});

describe('log segments', () => {
  const folder = '.evsrc/feed/p002/';
  const entries = [
    {
      position: 1001,
      id: 'aaaaaaaaaaaaaaaa',
      prev: 'ffffffffffffffff',
      batches: [{ type: 'cart', id: 'c-1', first: 4 }, null],
    },
    {
      position: 1002,
      id: 'bbbbbbbbbbbbbbbb',
      prev: 'aaaaaaaaaaaaaaaa',
      batches: [{ type: 'order', id: 'o-9', first: 1 }],
    },
    { position: 1003, batches: [] },
  ];

  it('keep what decided entries said, and where they are', () => {
    const path = segmentPath(folder, 1001, 1003);
    expect(path).toBe('.evsrc/feed/p002/000000001/000000001001-000000001003.segment');
    const decoded = decodeLogSegment(path, encodeLogSegment(entries));
    expect(decoded).toEqual([entries[0], entries[1], { position: 1003, prev: 'bbbbbbbbbbbbbbbb', batches: [] }]);
  });

  it('are refused, naming the file, when altered or not where their name says', () => {
    const bytes = encodeLogSegment(entries);
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 1] = (flipped.at(-1) as number) ^ 1;
    const right = segmentPath(folder, 1001, 1003);
    expect(() => decodeLogSegment(right, flipped)).toThrow(
      expect.objectContaining({ code: ErrorCode.CorruptFile, path: right }),
    );
    const elsewhere = segmentPath(folder, 1001, 1004);
    expect(() => decodeLogSegment(elsewhere, bytes)).toThrow(
      expect.objectContaining({ code: ErrorCode.CorruptFile, path: elsewhere }),
    );
  });
});
