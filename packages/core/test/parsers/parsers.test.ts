import { json, msgpack } from '@evsrc/core';
import { describe, expect, it } from 'vitest';

describe.each([json, msgpack])('$name parser', (format) => {
  it('decodes every batch it encodes, the empty one included', () => {
    const events = [
      { type: 'a', timestamp: 1, payload: { s: 'é😀', n: -1.5, list: [1, 2], nested: { ok: true } } },
      { type: 'b', timestamp: 2, payload: {}, eventId: 'e', metadata: { correlationId: 'c' } },
    ];
    expect(format.events.decode(format.events.encode(events))).toEqual(events);
    expect(format.events.decode(format.events.encode([]))).toEqual([]);
  });

  it('round-trips snapshot states', () => {
    const state = { owner: 'x', balance: 10, tags: ['a'], nested: { deep: [{ k: 1 }] } };
    expect(format.snapshots.decode(format.snapshots.encode(state))).toEqual(state);
  });

  it('throws on bytes it did not write (the repository turns this into a typed error)', () => {
    expect(() => format.events.decode(new Uint8Array([0xc1, 0xff, 0x00]))).toThrow();
  });
});
