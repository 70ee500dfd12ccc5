import { crc32 } from 'node:zlib';
import {
  type EvsrcError,
  type InMemoryFileSystem,
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
import { expect } from 'vitest';

/**
 * What the corrupt-file properties (test/format/corrupt-files.test.ts, on the envelope
 * reader and the codec, and test/repository/corrupt-files.test.ts, on the loader) are
 * made of: generators of valid files and of ways to damage them, the reader they go
 * through, and the one failure they accept.
 */

/** Inputs tried per property, reported at the end of each test file (and in the figures). */
export const tried = new Map<string, number>();
export const count = (name: string) => tried.set(name, (tried.get(name) ?? 0) + 1);
/** Prints the inputs tried (run it in `afterAll`). */
export function reportTried(): void {
  const total = [...tried.values()].reduce((a, b) => a + b, 0);
  console.info(`corrupt-file properties: ${JSON.stringify(Object.fromEntries(tried))}; total ${total} inputs`);
}

export const enc = new TextEncoder();
const codecs = { json: new FileCodec(json, [msgpack]), msgpack: new FileCodec(msgpack, [json]) };
/** The reader every property reads through. */
export const reader = codecs.json;

/** Runs `read` and returns what it threw (undefined if nothing). */
export function thrown(read: () => unknown): unknown {
  try {
    read();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The one acceptable failure: an evsrc error that names the file. */
export function expectTypedNaming(error: unknown, path: string): void {
  expect(isEvsrcError(error), `not an evsrc error: ${String(error)}`).toBe(true);
  expect((error as EvsrcError & { path?: string }).path).toBe(path);
}

// ---- valid files ---------------------------------------------------------------------------

export const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
export const storedEvent: fc.Arbitrary<StoredEvent> = fc.record(
  {
    type: fc.constantFrom('opened', 'deposited', 'other.type'),
    timestamp: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    payload: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    eventId: fc.uuid(),
    metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  },
  { requiredKeys: ['type', 'timestamp', 'payload'] },
);

export interface Sample {
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

export const sample = fc.oneof(batchSample, snapshotSample);
export const pathOf = (s: Pick<Sample, 'kind' | 'type' | 'id' | 'version'>) =>
  `${s.kind === 'batch' ? 'b' : 's'}/${s.version}`; // the codec only names it in errors

/** Reads `bytes` as `s`'s kind of file, expected at `s`'s place, the way a load does. */
export function decode(
  s: Pick<Sample, 'kind' | 'type' | 'id' | 'version'>,
  bytes: Uint8Array,
  path = pathOf(s),
): unknown {
  return s.kind === 'batch'
    ? reader.decodeBatch(path, bytes, { type: s.type, id: s.id, first: s.version })
    : reader.decodeSnapshot(path, bytes, { type: s.type, id: s.id, version: s.version });
}

/** Either the same result as the pristine file (a harmless change) or a typed error naming the file. */
export function expectCaughtOrHarmless(s: Sample, bytes: Uint8Array): 'caught' | 'harmless' {
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

/** A copy of `bytes` with the given bits flipped. */
export function flip(bytes: Uint8Array, bits: readonly number[]): Uint8Array {
  const copy = Uint8Array.from(bytes); // a copy even of a Buffer (whose slice() is a view)
  for (const bit of bits) copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

// ---- damaged files -------------------------------------------------------------------------

/** A file with exactly this header (plus `hcrc32` when `sealed`), as a foreign or buggy writer might make it. */
export function rawFile(header: Record<string, unknown>, body: Uint8Array, sealed: boolean): Uint8Array {
  let line = JSON.stringify(header);
  if (sealed) {
    const covered = line.slice(0, -1);
    line = `${covered},"hcrc32":${crc32(enc.encode(covered))}}`;
  }
  return Buffer.concat([enc.encode(`${line}\n`), body]);
}

// ---- damaged stores, for the loader -------------------------------------------------------

export type Corruption =
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; bits: number[] }
  | { kind: 'foreign' }
  | { kind: 'moved'; to: number }
  | { kind: 'random body'; body: Uint8Array };

export const corruption: fc.Arbitrary<Corruption> = fc.oneof(
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
export async function corrupt(mem: InMemoryFileSystem, path: string, c: Corruption): Promise<string> {
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

/** The saves of one aggregate's history, its snapshot interval (0: none) and its format. */
export interface History {
  saves: number[];
  snapshotEvery: number;
  format: 'json' | 'msgpack';
}

/** Saves the same history for `victim` and `other` (so each victim file has an "other" twin); returns the repository. */
export async function build(mem: InMemoryFileSystem, h: History): Promise<Repository> {
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
