import { crc32 } from 'node:zlib';
import {
  ErrorCode,
  type EvsrcError,
  InMemoryFileSystem,
  isEvsrcError,
  json,
  msgpack,
  Repository,
  readFile,
  type StoredEvent,
} from '@evsrc/core';
import { batchPath, FileCodec, snapshotPath, writeFile } from '@evsrc/core/internals';
import { TestAccount, testAccountType } from '@evsrc/core/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

/** Inputs tried per property, reported at the end (and in the figures). */
const tried = new Map<string, number>();
const count = (name: string) => tried.set(name, (tried.get(name) ?? 0) + 1);
afterAll(() => {
  const total = [...tried.values()].reduce((a, b) => a + b, 0);
  console.info(`corrupt-file properties: ${JSON.stringify(Object.fromEntries(tried))}; total ${total} inputs`);
});

const enc = new TextEncoder();
const codecs = { json: new FileCodec(json, [msgpack]), msgpack: new FileCodec(msgpack, [json]) };
const reader = codecs.json;

/** Runs `read` and returns what it threw (undefined if nothing). */
function thrown(read: () => unknown): unknown {
  try {
    read();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The one acceptable failure: an evsrc error that names the file. */
function expectTypedNaming(error: unknown, path: string): void {
  expect(isEvsrcError(error), `not an evsrc error: ${String(error)}`).toBe(true);
  expect((error as EvsrcError & { path?: string }).path).toBe(path);
}

// ---- generators -------------------------------------------------------------------------

const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
const storedEvent: fc.Arbitrary<StoredEvent> = fc.record(
  {
    type: fc.constantFrom('opened', 'deposited', 'other.type'),
    timestamp: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    payload: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    eventId: fc.uuid(),
    metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  },
  { requiredKeys: ['type', 'timestamp', 'payload'] },
);

interface Sample {
  kind: 'batch' | 'snapshot';
  format: 'json' | 'msgpack';
  type: string;
  id: string;
  version: number;
  bytes: Uint8Array;
}

const batchSample: fc.Arbitrary<Sample> = fc
  .record({
    format: fc.constantFrom('json' as const, 'msgpack' as const),
    type: name,
    id: name,
    first: fc.integer({ min: 1, max: 1_000_000 }),
    commit: fc.uuid(),
    events: fc.array(storedEvent, { minLength: 1, maxLength: 4 }),
  })
  .map(({ format, type, id, first, commit, events }) => ({
    kind: 'batch',
    format,
    type,
    id,
    version: first,
    bytes: codecs[format].encodeBatch({ type, id, first, last: first + events.length - 1, commit }, events),
  }));

const snapshotSample: fc.Arbitrary<Sample> = fc
  .record({
    format: fc.constantFrom('json' as const, 'msgpack' as const),
    type: name,
    id: name,
    version: fc.integer({ min: 1, max: 1_000_000 }),
    timestamp: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    state: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
  })
  .map(({ format, type, id, version, timestamp, state }) => ({
    kind: 'snapshot',
    format,
    type,
    id,
    version,
    bytes: codecs[format].encodeSnapshot({ type, id, version, timestamp }, state),
  }));

const sample = fc.oneof(batchSample, snapshotSample);
const pathOf = (s: Pick<Sample, 'kind' | 'type' | 'id' | 'version'>) =>
  `${s.kind === 'batch' ? 'b' : 's'}/${s.version}`; // the codec only names it in errors

/** Reads `bytes` as `s`'s kind of file, expected at `s`'s place, the way a load does. */
function decode(s: Pick<Sample, 'kind' | 'type' | 'id' | 'version'>, bytes: Uint8Array, path = pathOf(s)): unknown {
  return s.kind === 'batch'
    ? reader.decodeBatch(path, bytes, { type: s.type, id: s.id, first: s.version })
    : reader.decodeSnapshot(path, bytes, { type: s.type, id: s.id, version: s.version });
}

/** Either the same result as the pristine file (a harmless change) or a typed error naming the file. */
function expectCaughtOrHarmless(s: Sample, bytes: Uint8Array): 'caught' | 'harmless' {
  const path = pathOf(s);
  let result: unknown;
  const error = thrown(() => {
    result = decode(s, bytes, path);
  });
  if (error !== undefined) {
    expectTypedNaming(error, path);
    return 'caught';
  }
  const pristine = decode(s, s.bytes, path) as { header: Record<string, unknown> };
  const { header, ...rest } = result as { header: Record<string, unknown> };
  expect({ header: known(header), ...rest }).toEqual({ ...pristine, header: known(pristine.header) });
  return 'harmless';
}

/** The header fields a reader uses (a flipped key name leaves an unknown, ignored key behind). */
const FIELDS = [
  'evsrc',
  'kind',
  'parser',
  'type',
  'id',
  'first',
  'last',
  'commit',
  'version',
  'timestamp',
  'bytes',
  'crc32',
];
const known = (header: Record<string, unknown>) => Object.fromEntries(FIELDS.map((f) => [f, header[f]]));

function flip(bytes: Uint8Array, bits: readonly number[]): Uint8Array {
  const copy = Uint8Array.from(bytes); // a copy even of a Buffer (whose slice() is a view)
  for (const bit of bits) copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

// ---- the envelope and codec ---------------------------------------------------------------

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

/** A file with exactly this header (plus `hcrc32` when `sealed`), as a foreign or buggy writer might make it. */
function rawFile(header: Record<string, unknown>, body: Uint8Array, sealed: boolean): Uint8Array {
  let line = JSON.stringify(header);
  if (sealed) {
    const covered = line.slice(0, -1);
    line = `${covered},"hcrc32":${crc32(enc.encode(covered))}}`;
  }
  return Buffer.concat([enc.encode(`${line}\n`), body]);
}

// ---- the repository loader ----------------------------------------------------------------

type Corruption =
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; bits: number[] }
  | { kind: 'foreign' }
  | { kind: 'moved'; to: number }
  | { kind: 'random body'; body: Uint8Array };

const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 0.999, noNaN: true }) }),
  fc
    .record({
      kind: fc.constant('flip' as const),
      bits: fc.uniqueArray(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 3 }),
    })
    .map(({ kind, bits }) => ({ kind, bits: bits.map((b) => Math.floor(b * 2 ** 20)) })),
  fc.constant({ kind: 'foreign' as const }),
  fc.record({ kind: fc.constant('moved' as const), to: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    kind: fc.constant('random body' as const),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.jsonValue().map((v) => enc.encode(JSON.stringify(v))),
    ),
  }),
);

/** Applies `c` to the file at `path` (of aggregate `victim`); returns the path that now holds bad data. */
async function corrupt(mem: InMemoryFileSystem, path: string, c: Corruption): Promise<string> {
  const bytes = (await mem.read(path)) as Uint8Array;
  const kind = path.endsWith('.batch') ? 'batch' : 'snapshot';
  switch (c.kind) {
    case 'random':
      await mem.replace(path, c.bytes);
      return path;
    case 'truncate':
      await mem.replace(path, bytes.subarray(0, Math.floor(c.at * bytes.length)));
      return path;
    case 'flip':
      await mem.replace(path, flip(bytes, [...new Set(c.bits.map((b) => b % (bytes.length * 8)))]));
      return path;
    case 'foreign': {
      const other = (await mem.read(path.replace('/victim/', '/other/'))) as Uint8Array;
      await mem.replace(path, other);
      return path;
    }
    case 'moved': {
      const to =
        kind === 'batch' ? batchPath('test-account', 'victim', c.to) : snapshotPath('test-account', 'victim', c.to);
      if (to === path || (await mem.read(to)) !== undefined) return corrupt(mem, path, { kind: 'foreign' });
      await mem.create(to, bytes);
      return to;
    }
    case 'random body': {
      const { header } = readFile(path, bytes, kind);
      const { evsrc: _e, bytes: _b, crc32: _c, hcrc32: _h, ...fields } = header;
      await mem.replace(path, writeFile(fields, c.body));
      return path;
    }
  }
}

interface History {
  saves: number[];
  snapshotEvery: number;
  format: 'json' | 'msgpack';
}

/** Saves the same history for `victim` and `other` (so each victim file has an "other" twin); returns the repository. */
async function build(mem: InMemoryFileSystem, h: History): Promise<Repository> {
  const repo = new Repository({
    fileSystem: mem,
    aggregates: [testAccountType(h.snapshotEvery || undefined)],
    format: h.format,
    clock: () => 1_000,
    onError: () => undefined,
  });
  for (const id of ['victim', 'other']) {
    const a = new TestAccount(id);
    a.open(id);
    for (const [i, n] of h.saves.entries()) {
      for (let k = 0; k < n; k++) a.deposit(i + k + 1, id);
      await repo.save(a);
    }
  }
  return repo;
}

async function state(repo: Repository, id: string): Promise<unknown> {
  const a = await repo.get(TestAccount, id);
  const events: unknown[] = [];
  for await (const r of repo.events(TestAccount, id)) events.push([r.version, r.type, { ...r.event }]);
  return { state: a.toSnapshot(), version: a.version, events };
}

describe('corrupt files: the repository loader (fast-check)', { timeout: 120_000 }, () => {
  it('loads the right aggregate or fails with a typed error naming the bad file — never a wrong aggregate', async () => {
    const history = fc.record({
      saves: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 6 }),
      snapshotEvery: fc.constantFrom(0, 2, 3),
      format: fc.constantFrom('json' as const, 'msgpack' as const),
    });
    await fc.assert(
      fc.asyncProperty(history, fc.nat(), corruption, async (h, pick, c) => {
        const mem = new InMemoryFileSystem({ async: false });
        const writer = await build(mem, h);
        const pristine = { victim: await state(writer, 'victim'), other: await state(writer, 'other') };
        const files: string[] = [];
        for await (const n of mem.list('test-account/victim/')) files.push(n);
        const target = files[pick % files.length] as string;
        // A CRC-valid snapshot with another body is indistinguishable from a real one: only batches get new bodies.
        fc.pre(!(c.kind === 'random body' && target.endsWith('.snap')));
        count('loader');
        const bad = await corrupt(mem, target, c);
        const reported: unknown[] = [];
        const repo = new Repository({
          fileSystem: mem,
          aggregates: [testAccountType()],
          onError: (e) => reported.push(e),
        });
        const loaded = await state(repo, 'victim').catch((e: unknown) => ({ error: e }));
        if ('error' in (loaded as object)) expectTypedNaming((loaded as { error: unknown }).error, bad);
        else {
          expect(loaded).toEqual(pristine.victim);
          for (const e of reported) expectTypedNaming(e, bad);
        }
        expect(await state(repo, 'other')).toEqual(pristine.other);
      }),
      { numRuns: 400 },
    );
  });
});
