import { compareNames } from '@evsrc/core/adapter';
import { describe, expect, it } from 'vitest';
import { CodePointOrder } from '../src/code-point-order.js';
import { pageSizeFor, planListing } from '../src/listing.js';

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters chosen where UTF-16 and code point order disagree: above U+FFFF vs U+E000..U+FFFF.
const ALPHABET = ['a', 'b', '/', '\uE000', '\uFFFD', '\uFFFF', '😀', '𝄞', '\u{10FFFF}'];

function names(seed: number, count: number): string[] {
  const next = random(seed);
  const out = new Set<string>();
  while (out.size < count) {
    let name = 'x';
    const length = 1 + Math.floor(next() * 5);
    for (let i = 0; i < length; i++) name += ALPHABET[Math.floor(next() * ALPHABET.length)];
    out.add(name);
  }
  return [...out];
}

function reorder(input: readonly string[]): string[] {
  const order = new CodePointOrder();
  const out: string[] = [];
  for (const name of input) out.push(...order.push(name));
  out.push(...order.flush());
  return out;
}

const utf16 = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('CodePointOrder', () => {
  it('turns UTF-16 order (Azurite) into code point order', () => {
    let differing = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const all = names(seed, 40);
      const expected = [...all].sort(compareNames);
      const input = [...all].sort(utf16);
      if (input.some((name, i) => name !== expected[i])) differing++;
      expect(reorder(input), `seed ${seed}`).toEqual(expected);
    }
    expect(differing).toBeGreaterThan(150); // the two orders really disagree on these inputs
  });

  it('passes code point order (the Blob service) through unchanged', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const sorted = names(seed, 40).sort(compareNames);
      expect(reorder(sorted), `seed ${seed}`).toEqual(sorted);
    }
  });

  it('releases names without characters above U+FFFF at once', () => {
    const order = new CodePointOrder();
    expect(order.push('a/1')).toEqual(['a/1']);
    expect(order.push('a/2')).toEqual(['a/2']);
    expect(order.flush()).toEqual([]);
  });

  it('holds a name with a surrogate pair only while a name before it may still come', () => {
    const order = new CodePointOrder();
    expect(order.push('o/😀')).toEqual([]); // "o/\uFFFD" may follow in UTF-16 order
    expect(order.push('o/\uFFFD')).toEqual(['o/\uFFFD']);
    expect(order.push('p/1')).toEqual(['o/😀', 'p/1']); // left the "o/" range: nothing can come before it
  });
});

describe('planListing', () => {
  it('lists everything when startAfter sorts before the prefix', () => {
    expect(planListing('s/', 'a')).toEqual({ empty: false });
    expect(planListing('s/', undefined)).toEqual({ empty: false });
  });

  it('lists nothing when startAfter sorts after every name with the prefix', () => {
    expect(planListing('s/', 'zzz')).toEqual({ empty: true });
    expect(planListing('s/', 't')).toEqual({ empty: true });
  });

  it('starts the service at startAfter (inclusive) and drops it on the client', () => {
    expect(planListing('s/', 's/3')).toEqual({ empty: false, after: 's/3', startFrom: 's/3' });
    expect(planListing('', 's/5')).toEqual({ empty: false, after: 's/5', startFrom: 's/5' });
  });

  it('cuts startFrom before characters whose order differs between UTF-8 and UTF-16', () => {
    expect(planListing('u/', 'u/ab\uFFFDc')).toEqual({ empty: false, after: 'u/ab\uFFFDc', startFrom: 'u/ab' });
    expect(planListing('u/', 'u/😀')).toEqual({ empty: false, after: 'u/😀' });
    expect(planListing('s/', 's/')).toEqual({ empty: false, after: 's/' });
  });

  it('sizes pages by the hint, the names still wanted and the service maximum', () => {
    expect(pageSizeFor(undefined, Number.POSITIVE_INFINITY)).toBe(5000);
    expect(pageSizeFor(7, 30)).toBe(7);
    expect(pageSizeFor(100, 3)).toBe(3);
    expect(pageSizeFor(1_000_000, Number.POSITIVE_INFINITY)).toBe(5000);
    expect(pageSizeFor(0, 10)).toBe(10);
  });
});
