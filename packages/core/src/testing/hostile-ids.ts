import fc from 'fast-check';
import { MAX_SEGMENT_BYTES } from '../format/layout.js';

/**
 * Pieces of ids that have broken storage layers elsewhere: path tricks, escapes, reserved
 * device names, characters that look alike, fold together under case or Unicode
 * normalisation, or are invisible, and lone surrogates.
 */
const FRAGMENTS = [
  '..',
  '.',
  '/',
  '\\',
  '\0',
  '%',
  '%2e',
  '%2E',
  '%2f',
  '%00',
  '%41',
  'a',
  'A',
  'é', // U+00E9 (NFC)
  'e\u0301', // e + combining acute (NFD)
  'ﬁ', // ligature: NFKC "fi"
  'fi',
  '\u212b', // Angstrom sign: NFC U+00C5
  'Å',
  'A\u030a',
  '\u212a', // Kelvin sign: NFC "K"
  'k',
  'К', // Cyrillic capital KA
  'ſ', // long s: uppercases to "S"
  's',
  'ß',
  'ẞ',
  'İ',
  'ı',
  '\u200b', // zero-width space
  '\u200d',
  '\ufeff',
  '\u202e', // right-to-left override
  '\uff0e', // fullwidth full stop: NFKC "."
  '\uff0f', // fullwidth solidus: NFKC "/"
  '\u2215', // division slash
  '\u2024', // one dot leader
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '😀',
  ' ',
  '\t',
  '\n',
  '~',
  ':',
  '*',
  '?',
  '"',
  '<',
  '>',
  '|',
  'CON',
  'nul',
  'COM1',
  '.git',
  '-',
  '_',
  '0',
];

const FORMS: readonly ((s: string) => string)[] = [
  (s) => s.toUpperCase(),
  (s) => s.toLowerCase(),
  (s) => s.normalize('NFC'),
  (s) => s.normalize('NFD'),
  (s) => s.normalize('NFKC'),
  (s) => s.normalize('NFKD'),
];

const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** One id: hostile fragments, any Unicode, raw UTF-16 units (lone surrogates included), or very long. */
const baseId: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 6 }).map((a) => a.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
  { weight: 1, arbitrary: fc.string({ unit: utf16Unit, maxLength: 6 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(66, 199, 200, 201, 1_000, 10_000), fc.constantFrom('x', 'X', '.', 'é'))
      .map(([n, c]) => c.repeat(n)),
  },
);

/**
 * Generates up to `count` distinct aggregate ids (fast-check), many of them hostile and
 * many in pairs that differ only by case or Unicode normalisation form, so that a store
 * which folds, normalises or mangles names shows it.
 */
export function hostileIds(count: number): fc.Arbitrary<string[]> {
  const pair = fc.tuple(baseId, fc.constantFrom(...FORMS));
  return fc.array(pair, { minLength: count, maxLength: count }).map((pairs) => {
    const ids = new Set<string>();
    for (const [id, form] of pairs) ids.add(id).add(form(id));
    return [...ids].slice(0, count);
  });
}

/**
 * Should an id be refused (`EVSRC_INVALID_ID`)? An independent statement of the rule of
 * `encodeSegment`: empty, a lone surrogate, or an encoding (one byte for `[a-z0-9_-]`,
 * `%xx` per UTF-8 byte otherwise) longer than `MAX_SEGMENT_BYTES` (200 bytes).
 */
export function isUnstorableId(id: string): boolean {
  if (id.length === 0 || !id.isWellFormed()) return true;
  let length = 0;
  for (const ch of id) length += /^[a-z0-9_-]$/.test(ch) ? 1 : 3 * Buffer.byteLength(ch, 'utf8');
  return length > MAX_SEGMENT_BYTES;
}
