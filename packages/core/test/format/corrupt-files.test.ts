import { ErrorCode, type EvsrcError, isEvsrcError, json, msgpack, readFile, type StoredEvent } from '@evsrc/core';
import { writeFile } from '@evsrc/core/internals';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  count,
  decode,
  enc,
  expectCaughtOrHarmless,
  expectTypedNaming,
  flip,
  name,
  pathOf,
  rawFile,
  reader,
  reportTried,
  type Sample,
  sample,
  storedEvent,
  thrown,
  tried,
} from '../support/corrupt-files.js';

afterAll(reportTried);

// Generous time-outs: these properties try thousands of inputs, on machines that may be busy.
describe('corrupt files: the envelope reader and the codec (fast-check)', { timeout: 60_000 }, () => {
  it('turns random bytes, with or without a plausible header start, into a typed error naming the file', () => {
    const start = fc.constantFrom('', '{', '{"evsrc":1,"kind":"batch"', '{"evsrc":1,"kind":"snapshot","parser":"json"');
    fc.assert(
      fc.property(
        start,
        fc.uint8Array({ maxLength: 600 }),
        fc.constantFrom('batch', 'snapshot'),
        (head, rest, kind) => {
          count('random bytes');
          const bytes = Buffer.concat([enc.encode(head), rest]);
          expectTypedNaming(
            thrown(() => decode({ kind, type: 't', id: 'i', version: 1 }, bytes, 'x/y')),
            'x/y',
          );
          expectTypedNaming(
            thrown(() => readFile('x/y', bytes, kind)),
            'x/y',
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses every truncation of a valid file with a typed error naming it', () => {
    fc.assert(
      fc.property(
        sample.chain((s) => fc.tuple(fc.constant(s), fc.nat({ max: s.bytes.length - 1 }))),
        ([s, n]) => {
          count('truncated');
          expectTypedNaming(
            thrown(() => decode(s, s.bytes.subarray(0, n))),
            pathOf(s),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('catches 1 to 4 flipped bits anywhere in a file, header included', () => {
    fc.assert(
      fc.property(
        sample.chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.uniqueArray(fc.nat({ max: s.bytes.length * 8 - 1 }), { minLength: 1, maxLength: 4 }),
          ),
        ),
        ([s, bits]) => {
          count('flipped bits');
          expect(expectCaughtOrHarmless(s, flip(s.bytes, bits))).toBe('caught');
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('catches every single flipped bit of a file, exhaustively', () => {
    const files = fc.sample(sample, { numRuns: 12, seed: 42 });
    let flips = 0;
    const missed: string[] = [];
    for (const s of files) {
      for (let bit = 0; bit < s.bytes.length * 8; bit++) {
        flips++;
        const error = thrown(() => decode(s, flip(s.bytes, [bit])));
        // A quick check per flip (expect() is slow at this count).
        if (!isEvsrcError(error) || (error as { path?: string }).path !== pathOf(s)) {
          missed.push(`${s.kind}/${s.format} byte ${bit >> 3} bit ${bit & 7}: ${String(error)}`);
        }
      }
    }
    tried.set('single flips (exhaustive)', flips);
    expect(missed).toEqual([]);
  });

  it('refuses a valid file read at another aggregate’s or version’s place, naming the place', () => {
    const elsewhere = fc.record({ type: fc.option(name), id: fc.option(name), version: fc.option(fc.nat()) });
    fc.assert(
      fc.property(sample, elsewhere, (s, other) => {
        const place = { ...s, type: other.type ?? s.type, id: other.id ?? s.id, version: other.version ?? s.version };
        fc.pre(place.type !== s.type || place.id !== s.id || place.version !== s.version);
        count('misplaced');
        const error = thrown(() => decode(place, s.bytes, 'elsewhere'));
        expectTypedNaming(error, 'elsewhere');
        expect((error as EvsrcError).code).toBe(ErrorCode.MisplacedFile);
      }),
      { numRuns: 2000 },
    );
  });

  it('turns a valid envelope around a random body into a typed error (or well-formed events)', () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.jsonValue().map((v) => enc.encode(JSON.stringify(v))),
      fc.jsonValue().map((v) => msgpack.events.encode(v as unknown as StoredEvent[])),
      fc.array(storedEvent, { maxLength: 4 }).map((events) => json.events.encode(events)),
      fc.array(storedEvent, { maxLength: 4 }).map((events) => msgpack.events.encode(events)),
      fc
        .array(fc.record({ type: fc.jsonValue(), timestamp: fc.jsonValue(), payload: fc.jsonValue() }), {
          minLength: 1,
          maxLength: 3,
        })
        .map((v) => enc.encode(JSON.stringify(v))),
    );
    fc.assert(
      fc.property(body, fc.constantFrom('json', 'msgpack'), fc.integer({ min: 1, max: 3 }), (b, parser, n) => {
        count('random body');
        const bytes = writeFile({ kind: 'batch', parser, type: 't', id: 'i', first: 1, last: n, commit: 'c' }, b);
        let events: StoredEvent[] | undefined;
        const error = thrown(() => {
          events = reader.decodeBatch('p', bytes, { type: 't', id: 'i', first: 1 }).events;
        });
        if (error !== undefined) return expectTypedNaming(error, 'p');
        expect(events).toHaveLength(n);
        for (const e of events ?? []) {
          expect(typeof e.type === 'string' && Number.isFinite(e.timestamp) && 'payload' in e).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses header fields of the wrong type, whether or not the header carries its checksum', () => {
    const fields = {
      batch: ['evsrc', 'kind', 'parser', 'type', 'id', 'first', 'last', 'commit', 'bytes', 'crc32', 'hcrc32'],
      snapshot: ['evsrc', 'kind', 'parser', 'type', 'id', 'version', 'timestamp', 'bytes', 'crc32', 'hcrc32'],
    };
    const wrong = fc.oneof(
      fc.jsonValue(),
      fc.constant(undefined),
      fc.double(),
      fc.integer({ min: -5, max: 5 }),
      fc.constant(2 ** 53 + 2),
    );
    const mutation = sample.chain((s) =>
      fc.record({ s: fc.constant(s), field: fc.constantFrom(...fields[s.kind]), value: wrong, sealed: fc.boolean() }),
    );
    fc.assert(
      fc.property(mutation, ({ s, field, value, sealed }) => {
        const { header, body } = readFile(pathOf(s), s.bytes, s.kind);
        const { hcrc32: _, ...plain } = header as unknown as Record<string, unknown>;
        const changed: Record<string, unknown> = { ...plain, [field]: value };
        const after = JSON.parse(JSON.stringify(changed)) as Record<string, unknown>;
        fc.pre(!validField(s, field, after[field]));
        count('wrong header field');
        const bytes = rawFile(field === 'hcrc32' ? changed : after, body, sealed && field !== 'hcrc32');
        expectTypedNaming(
          thrown(() => decode(s, bytes)),
          pathOf(s),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('still reads files written before the header checksum existed (no hcrc32 field)', () => {
    fc.assert(
      fc.property(sample, (s) => {
        count('legacy files');
        const { header, body } = readFile(pathOf(s), s.bytes, s.kind);
        const { hcrc32, ...legacy } = header as unknown as Record<string, unknown>;
        expect(typeof hcrc32).toBe('number');
        const old = rawFile(legacy, body, false);
        expect(expectCaughtOrHarmless(s, old)).toBe('harmless');
      }),
      { numRuns: 500 },
    );
  });
});

/** Would the reader accept this value for this field of `s`'s header? */
function validField(s: Sample, field: string, value: unknown): boolean {
  const int = Number.isSafeInteger(value) && (value as number) >= 0;
  switch (field) {
    case 'evsrc':
      return value === 1 || value === 2; // 2: a plain file may also say version 2
    case 'kind':
      return value === s.kind;
    case 'parser':
    case 'type':
    case 'id':
    case 'commit':
      return typeof value === 'string';
    case 'timestamp':
      return typeof value === 'number' && Number.isFinite(value);
    case 'hcrc32':
      return value === undefined; // absent: a legacy file (any present value is checked)
    default:
      return int;
  }
}
