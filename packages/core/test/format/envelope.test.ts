import { CorruptFileError, ErrorCode, isEvsrcError, readFile, UnsupportedFormatError } from '@evsrc/core';
import { writeFile } from '@evsrc/core/internals';
import { describe, expect, it } from 'vitest';

const body = new TextEncoder().encode('[{"type":"x","timestamp":1,"payload":{}}]');
const file = () =>
  writeFile({ kind: 'batch', parser: 'json', type: 't', id: 'i', first: 1, last: 1, commit: 'c' }, body);

describe('file envelope', () => {
  it('starts with a one-line JSON header naming format version, kind, parser and checksum', () => {
    const bytes = file();
    const text = new TextDecoder().decode(bytes);
    const [head, rest] = [text.slice(0, text.indexOf('\n')), text.slice(text.indexOf('\n') + 1)];
    expect(JSON.parse(head)).toMatchObject({
      evsrc: 1,
      kind: 'batch',
      parser: 'json',
      type: 't',
      id: 'i',
      bytes: body.byteLength,
    });
    expect(rest).toBe(new TextDecoder().decode(body));
    const { header, body: back } = readFile('p', bytes, 'batch');
    expect(header.commit).toBe('c');
    expect(Buffer.from(back).equals(Buffer.from(body))).toBe(true);
  });

  it('catches every single flipped bit in the body with a typed error naming the file', () => {
    const bytes = file();
    const start = bytes.indexOf(0x0a) + 1;
    for (let i = start; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = bytes.slice();
        copy[i] = (copy[i] as number) ^ (1 << bit);
        const err = (() => {
          try {
            readFile('a/b.batch', copy, 'batch');
          } catch (e) {
            return e;
          }
        })();
        expect(err).toBeInstanceOf(CorruptFileError);
        expect((err as CorruptFileError).path).toBe('a/b.batch');
      }
    }
  });

  it('rejects truncated files at every length with a typed error', () => {
    const bytes = file();
    for (let n = 0; n < bytes.length; n++) {
      expect(() => readFile('t.batch', bytes.subarray(0, n), 'batch'), `length ${n}`).toThrow(CorruptFileError);
    }
  });

  it('rejects files that are not evsrc files, or are of another kind or a newer format', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(() => readFile('f', enc('hello'), 'batch')).toThrow(/no header line/);
    expect(() => readFile('f', enc('{"a":1}\n'), 'batch')).toThrow(/format version/);
    expect(() => readFile('f', enc('not json\n'), 'batch')).toThrow(CorruptFileError);
    expect(() => readFile('f', enc('[1]\n'), 'batch')).toThrow(CorruptFileError);
    const backwards = writeFile(
      { kind: 'batch', parser: 'json', type: 't', id: 'i', first: 5, last: 4, commit: 'c' },
      enc('[]'),
    );
    expect(() => readFile('f', backwards, 'batch')).toThrow(/malformed batch header/);
    expect(() => readFile('f', file(), 'snapshot')).toThrow(UnsupportedFormatError);
    const newer = enc('{"evsrc":3,"kind":"batch"}\nxx');
    const err = (() => {
      try {
        readFile('f', newer, 'batch');
      } catch (e) {
        return e;
      }
    })();
    expect(isEvsrcError(err, ErrorCode.UnsupportedFormat)).toBe(true);
    expect(String(err)).toMatch(/newer/);
  });

  it('protects the header with hcrc32, its last field: a changed commit or snapshot timestamp is caught', () => {
    const text = new TextDecoder().decode(file());
    expect(text.slice(0, text.indexOf('\n'))).toMatch(/,"crc32":\d+,"hcrc32":\d+\}$/);
    const snapshot = writeFile(
      { kind: 'snapshot', parser: 'json', type: 't', id: 'i', version: 3, timestamp: 1795341600200 },
      body,
    );
    const edits: [Uint8Array, string, string, 'batch' | 'snapshot'][] = [
      [file(), '"commit":"c"', '"commit":"d"', 'batch'],
      [snapshot, '"timestamp":1795341600200', '"timestamp":9795341600200', 'snapshot'],
      [file(), '"hcrc32"', '"icrc32"', 'batch'], // a damaged key must not pass the file off as an old one
      [file(), ',"hcrc32"', ' ,"hcrc32"', 'batch'],
    ];
    for (const [bytes, from, to, kind] of edits) {
      const edited = new TextEncoder().encode(new TextDecoder().decode(bytes).replace(from, to));
      expect(() => readFile('h', edited, kind), to).toThrow(CorruptFileError);
    }
  });

  it('still reads files written before hcrc32 (header ending with crc32), and refuses format version 0', () => {
    const text = new TextDecoder().decode(file());
    const old = text.replace(/,"hcrc32":\d+\}/, '}');
    const { header } = readFile('o', new TextEncoder().encode(old), 'batch');
    expect([header.commit, header.hcrc32]).toEqual(['c', undefined]);
    const reordered = old.replace(/,"bytes":(\d+),"crc32":(\d+)\}/, ',"crc32":$2,"bytes":$1}');
    expect(() => readFile('o', new TextEncoder().encode(reordered), 'batch')).toThrow(/must end with/);
    expect(() => readFile('o', new TextEncoder().encode(old.replace('"evsrc":1', '"evsrc":0')), 'batch')).toThrow(
      CorruptFileError,
    );
  });
  it('refuses header values that cannot even be turned into text, with a typed error', () => {
    // Found by the fast-check property on a new seed: String({ toString: 1 }) throws a TypeError.
    const enc = (x: string) => new TextEncoder().encode(x);
    const odd = '{"toString":1,"valueOf":2}';
    for (const header of [
      `{"evsrc":1,"kind":"batch","crc32":${odd}}`,
      `{"evsrc":1,"kind":"batch","hcrc32":${odd}}`,
      `{"evsrc":${odd}}`,
      `{"evsrc":1,"kind":${odd}}`,
      `{"evsrc":1,"kind":"batch","parser":${odd},"type":"t","id":"i","first":1,"last":1,"commit":"c","bytes":1,"crc32":1}`,
    ]) {
      expect(() => readFile('odd.batch', enc(`${header}\nx`), 'batch'), header).toThrow(CorruptFileError);
    }
  });
});
