import {
  Aggregate,
  aggregateType,
  ChangeEvent,
  type FileSystem,
  InMemoryFileSystem,
  isEvsrcError,
  json,
  msgpack,
  Repository,
} from '@evsrc/core';
import { FileCodec } from '@evsrc/core/internals';
import { collect } from '@evsrc/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Issue 15, items 6-8: a payload is stored only if it reads back as saved. The error
// codes are spelt out (not imported) so that this file also runs against code without them.
const INVALID_PAYLOAD = 'EVSRC_INVALID_PAYLOAD';
const CORRUPT_FILE = 'EVSRC_CORRUPT_FILE';

class Box extends Aggregate {
  static readonly type = 'box';
  count = 0;
  put(fields: unknown) {
    this.raise(new Put(fields));
  }
  putRaw(value: unknown) {
    this.raise(new PutRaw(value));
  }
}

/** Stores `fields` as its payload; read back by copying the fields onto a bare instance. */
class Put extends ChangeEvent<Box> {
  static readonly type = 'put';
  constructor(public fields: unknown) {
    super();
  }
  override toPayload() {
    return this.fields;
  }
  applyOn(box: Box) {
    box.count++;
  }
}

/** Stores `value` as its payload; read back by its own fromPayload. */
class PutRaw extends ChangeEvent<Box> {
  static readonly type = 'put-raw';
  constructor(public value: unknown) {
    super();
  }
  static fromPayload(payload: unknown) {
    return new PutRaw(payload);
  }
  override toPayload() {
    return this.value;
  }
  applyOn(box: Box) {
    box.count++;
  }
}

const formats = [
  ['json', json],
  ['msgpack', msgpack],
] as const;

function store(format: (typeof formats)[number][1], fileSystem: FileSystem = new InMemoryFileSystem()) {
  const errors: unknown[] = [];
  const repo = new Repository({
    fileSystem,
    format,
    aggregates: [aggregateType(Box, { events: [Put, PutRaw] })],
    onError: (e) => errors.push(e),
  });
  return { fileSystem, repo, errors };
}

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

/** Saves, expects an InvalidPayloadError, and checks that nothing was stored and nothing stopped being pending. */
async function refused(repo: Repository, fileSystem: FileSystem, box: Box) {
  const pending = [...box.pendingEvents];
  const storedVersion = box.storedVersion;
  const error = await errorOf(repo.save(box));
  expect(error, 'the save must fail').toBeDefined();
  expect(isEvsrcError(error) ? error.code : error).toBe(INVALID_PAYLOAD);
  expect(box.pendingEvents).toHaveLength(pending.length);
  for (const [i, p] of pending.entries()) expect(box.pendingEvents[i]).toBe(p);
  expect(box.storedVersion).toBe(storedVersion);
  expect(await collect(fileSystem.list(`box/${box.id}/`))).toEqual([]);
  return error as Error & Record<string, unknown>;
}

/** The `i`-th pending event of `box`, to fix its data after a refused save. */
function pendingEvent<E>(box: Box, i: number): E {
  const pending = box.pendingEvents[i];
  if (!pending) throw new Error(`no pending event #${i}`);
  return pending.event as E;
}

/** A value nested `levels` deep: `{ a: { a: … 1 } }` (the outermost object is level 1). */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

class Money {
  constructor(readonly cents: number) {}
}

const cyclic = () => {
  const root: Record<string, unknown> = { a: { b: {} } };
  ((root.a as Record<string, unknown>).b as Record<string, unknown>).c = root;
  return root;
};

const cyclicInArray = () => {
  const a: Record<string, unknown> = { name: 'a' };
  a.list = [1, a];
  return { a };
};

/** [what, fields of a `put` event, the field named in the error, the reason]. */
const refusedFields: [string, () => unknown, string, RegExp][] = [
  [
    'NaN deep in an array',
    () => ({ items: [{ price: 1 }, { price: 2 }, { price: 3 }, { price: Number.NaN }] }),
    'items[3].price',
    /is NaN/,
  ],
  ['Infinity', () => ({ total: Number.POSITIVE_INFINITY }), 'total', /is Infinity/],
  ['-Infinity', () => ({ total: Number.NEGATIVE_INFINITY }), 'total', /is -Infinity/],
  ['a bigint', () => ({ n: 10n }), 'n', /bigint/],
  ['a bigint over 64 bits', () => ({ n: 2n ** 80n }), 'n', /bigint/],
  ['a cycle', cyclic, 'a.b.c', /refers back to the value itself \(a cycle\)/],
  ['a cycle through an array', cyclicInArray, 'a.list[1]', /refers back to a \(a cycle\)/],
  ['nesting of 101 levels', () => ({ deep: nested(100) }), `deep${'.a'.repeat(99)}`, /deeper than 100 levels/],
  ['nesting of 5,000 levels', () => ({ deep: nested(5000) }), `deep${'.a'.repeat(99)}`, /deeper than 100 levels/],
  ['a Date', () => ({ at: new Date(0) }), 'at', /a Date, not plain data/],
  ['a Map', () => ({ m: new Map([['k', 1]]) }), 'm', /a Map/],
  ['a Set', () => ({ s: new Set([1]) }), 's', /a Set/],
  ['a Uint8Array', () => ({ bytes: new Uint8Array([1]) }), 'bytes', /a Uint8Array/],
  ['a class instance', () => ({ price: new Money(5) }), 'price', /an instance of Money/],
  ['a boxed string', () => ({ s: new String('x') }), 's', /a String/],
  ['undefined in an array', () => ({ list: [1, undefined] }), 'list[1]', /undefined in an array/],
  // biome-ignore lint/suspicious/noSparseArray: the hole is the case.
  ['a hole in an array', () => ({ list: [1, , 3] }), 'list[1]', /undefined in an array/],
  ['a function', () => ({ f: () => 1 }), 'f', /a function/],
  ['a symbol', () => ({ s: Symbol('s') }), 's', /a symbol/],
  ['a lone surrogate in a string', () => ({ name: 'a\ud800' }), 'name', /lone surrogate/],
  ['a lone surrogate in a key', () => ({ '\udc00k': 1 }), '["\\udc00k"]', /name with a lone surrogate/],
  ['a key __proto__ (item 7)', () => JSON.parse('{"a": 1, "__proto__": 2}'), '__proto__', /__proto__/],
  ['a nested key __proto__ (item 7)', () => ({ x: [JSON.parse('{"__proto__": {}}')] }), 'x[0].__proto__', /__proto__/],
  ['a field applyOn (item 6)', () => ({ amount: 1, applyOn: 'x' }), 'applyOn', /method or property of the event class/],
  ['a field constructor (item 6)', () => ({ constructor: 'x' }), 'constructor', /method or property/],
  ['a field toPayload (item 6)', () => ({ toPayload: 1 }), 'toPayload', /method or property/],
  ['a field toString (item 6)', () => ({ toString: 'x' }), 'toString', /method or property/],
  ['an array payload', () => [1, 2], '', /is an array, not an object/],
  ['a string payload', () => 'text', '', /is a string, not an object/],
];

describe.each(formats)('payload checks at save (%s)', (_name, format) => {
  it.each(refusedFields)(
    'refuses %s, naming aggregate, event and field; the events stay pending',
    async (_what, make, field, reason) => {
      const { repo, fileSystem } = store(format);
      const box = new Box('b-1');
      box.put({ ok: 1 });
      box.put(make());
      const error = await refused(repo, fileSystem, box);
      expect(error).toMatchObject({ aggregateType: 'box', aggregateId: 'b-1', eventType: 'put', field });
      expect(error.message).toMatch(reason);
      expect(error.message).toContain('"put"');
      // The same events, fixed, are then stored.
      pendingEvent<Put>(box, 1).fields = { ok: 2 };
      expect(await repo.save(box)).toHaveLength(2);
      const loaded = await repo.get(Box, 'b-1');
      expect([loaded.version, loaded.count]).toEqual([2, 2]);
      const stored = await collect(repo.events(Box, 'b-1'));
      expect(stored.map((r) => ({ ...r.event }))).toEqual([{ ok: 1 }, { ok: 2 }]);
    },
  );

  it('refuses what cannot be stored also in an event read back by its own fromPayload, but not its class’s names', async () => {
    const { repo, fileSystem } = store(format);
    const box = new Box('b-2');
    box.putRaw(undefined);
    expect(await refused(repo, fileSystem, box)).toMatchObject({ eventType: 'put-raw', field: '' });
    pendingEvent<PutRaw>(box, 0).value = { n: Number.NaN };
    expect(await refused(repo, fileSystem, box)).toMatchObject({ field: 'n' });
    pendingEvent<PutRaw>(box, 0).value = JSON.parse('{"__proto__": 1}');
    expect(await refused(repo, fileSystem, box)).toMatchObject({ field: '__proto__' });
    // fromPayload reads the fields itself: names of the class's methods are plain data to it.
    const value = { applyOn: 'x', constructor: 'y', toString: 'z', list: ['a'] };
    pendingEvent<PutRaw>(box, 0).value = value;
    await repo.save(box);
    const [record] = await collect(repo.events(Box, 'b-2'));
    expect((record?.event as PutRaw | undefined)?.value).toEqual(value);
  });

  it('accepts nesting of exactly 100 levels, refuses 101', async () => {
    const { repo, fileSystem } = store(format);
    const box = new Box('b-3');
    box.putRaw(nested(101));
    const error = await refused(repo, fileSystem, box);
    expect(error.field).toBe(`a${'.a'.repeat(99)}`);
    pendingEvent<PutRaw>(box, 0).value = nested(100);
    await repo.save(box);
    const [record] = await collect(repo.events(Box, 'b-3'));
    expect((record?.event as PutRaw | undefined)?.value).toEqual(nested(100));
  });
});

/** Writes a batch of one `put` event with the given payload, bypassing the save's checks. */
async function writeRawBatch(fileSystem: FileSystem, format: (typeof formats)[number][1], payload: unknown) {
  const codec = new FileCodec(format, []);
  const bytes = codec.encodeBatch({ type: 'box', id: 'raw', first: 1, last: 1, commit: 'c1' }, [
    { type: 'put', timestamp: 1, payload },
  ]);
  await fileSystem.create('box/raw/events/000000000001.batch', bytes);
  return 'box/raw/events/000000000001.batch';
}

describe.each(formats)('payload checks at load (%s)', (_name, format) => {
  it.each([
    ['applyOn', { amount: 1, applyOn: 'evil' }],
    ['constructor', { amount: 1, constructor: 'evil' }],
    ['toPayload', { toPayload: 'evil' }],
    ['toString', { toString: 'evil' }],
  ])('refuses a stored field %s with a CorruptFileError naming the file and the field', async (field, payload) => {
    const fileSystem = new InMemoryFileSystem();
    const path = await writeRawBatch(fileSystem, format, payload);
    const { repo } = store(format, fileSystem);
    for (const read of [() => repo.get(Box, 'raw'), () => collect(repo.events(Box, 'raw'))]) {
      const error = await errorOf(read());
      expect(isEvsrcError(error) ? error.code : error).toBe(CORRUPT_FILE);
      expect(error).toMatchObject({ path });
      expect((error as Error).message).toContain(`"${field}"`);
    }
  });
});

it('refuses a stored field __proto__ (JSON keeps it) with a CorruptFileError naming the file', async () => {
  const fileSystem = new InMemoryFileSystem();
  const path = await writeRawBatch(fileSystem, json, JSON.parse('{"amount": 1, "__proto__": {"applyOn": 1}}'));
  const error = await errorOf(store(json, fileSystem).repo.get(Box, 'raw'));
  expect(isEvsrcError(error) ? error.code : error).toBe(CORRUPT_FILE);
  expect(error).toMatchObject({ path });
  expect((error as Error).message).toContain('"__proto__"');
});

class Shelf extends Aggregate {
  static readonly type = 'shelf';
  byName = new Map<string, number>();
  stock(name: string) {
    this.raise(new Stocked(name));
  }
}

class Stocked extends ChangeEvent<Shelf> {
  static readonly type = 'stocked';
  constructor(readonly name: string) {
    super();
  }
  applyOn(shelf: Shelf) {
    shelf.byName.set(this.name, (shelf.byName.get(this.name) ?? 0) + 1);
  }
}

class Tree extends Aggregate {
  static readonly type = 'tree';
  root: Record<string, unknown> = {};
  grow() {
    this.raise(new Grown());
  }
}

class Grown extends ChangeEvent<Tree> {
  static readonly type = 'grown';
  applyOn(tree: Tree) {
    tree.root.self = tree.root;
  }
}

describe.each(formats)('snapshot states (%s)', (_name, format) => {
  it('skips a snapshot whose state would not read back as saved (a Map), reporting a typed error; the save succeeds', async () => {
    const fileSystem = new InMemoryFileSystem();
    const errors: unknown[] = [];
    const repo = new Repository({
      fileSystem,
      format,
      aggregates: [aggregateType(Shelf, { events: [Stocked], snapshots: { every: 1 } })],
      onError: (e) => errors.push(e),
    });
    const shelf = new Shelf('s-1');
    shelf.stock('bolt');
    shelf.stock('bolt');
    expect(await repo.save(shelf)).toHaveLength(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: INVALID_PAYLOAD,
      aggregateType: 'shelf',
      aggregateId: 's-1',
      eventType: undefined,
      field: 'byName',
    });
    expect(await collect(fileSystem.list('shelf/s-1/snapshots/'))).toEqual([]);
    const loaded = await repo.get(Shelf, 's-1');
    expect(loaded.byName).toEqual(new Map([['bolt', 2]]));
  });

  it('reports a cyclic state as a typed error naming the field, not a raw TypeError or RangeError', async () => {
    const errors: unknown[] = [];
    const repo = new Repository({
      fileSystem: new InMemoryFileSystem(),
      format,
      aggregates: [aggregateType(Tree, { events: [Grown], snapshots: { every: 1 } })],
      onError: (e) => errors.push(e),
    });
    const tree = new Tree('t-1');
    tree.grow();
    await repo.save(tree);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: INVALID_PAYLOAD, field: 'root.self' });
    expect((await repo.get(Tree, 't-1')).version).toBe(1);
  });
});

/** The value as read back: `-0` is stored as `0` (documented). */
function normalised(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(normalised);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalised(v)]));
  }
  return value;
}

/** Plain data: accepted (with `-0` and undefined fields, stored as their equivalents). */
const plain = fc.anything({
  key: fc.string({ unit: 'grapheme', maxLength: 4 }),
  values: [
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: 'grapheme', maxLength: 6 }),
  ],
  maxDepth: 3,
  withNullPrototype: true,
});
/** Anything: also what cannot be stored (NaN, bigint, Date, Map, holes, lone surrogates, __proto__, …). */
const wild = fc.anything({
  key: fc.oneof(
    fc.string({ unit: 'binary', maxLength: 4 }),
    fc.constantFrom('__proto__', 'constructor', 'applyOn', 'toString', 'a', 'b'),
  ),
  values: [
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.constantFrom(Symbol.for('s'), () => 1),
  ],
  maxDepth: 3,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
});
const payloads = fc.oneof({ arbitrary: plain, weight: 2 }, { arbitrary: wild, weight: 3 });

describe.each(formats)('round trip (%s)', (_name, format) => {
  it('reads back every payload a save accepts, deep-equal; a refused save keeps its events (fast-check)', async () => {
    let accepted = 0;
    let refusedCount = 0;
    await fc.assert(
      fc.asyncProperty(payloads, fc.boolean(), async (value, raw) => {
        const { repo, fileSystem } = store(format);
        const box = new Box('p');
        if (raw) box.putRaw(value);
        else box.put(value);
        const event = box.pendingEvents[0];
        const error = await errorOf(repo.save(box));
        if (error !== undefined) {
          refusedCount++;
          expect(isEvsrcError(error) ? error.code : error).toBe(INVALID_PAYLOAD);
          expect(box.pendingEvents).toEqual([event]);
          expect(await collect(fileSystem.list('box/'))).toEqual([]);
          return;
        }
        accepted++;
        const [record] = await collect(repo.events(Box, 'p'));
        const read = raw ? (record?.event as PutRaw | undefined)?.value : { ...record?.event };
        expect(read).toEqual(normalised(value));
      }),
      { numRuns: 300 },
    );
    // The generator must exercise both outcomes.
    expect(accepted).toBeGreaterThan(20);
    expect(refusedCount).toBeGreaterThan(20);
  });

  it('accepts every JSON value without a __proto__ key (fast-check)', async () => {
    const plain = fc.jsonValue({ maxDepth: 5 }).filter((v) => !JSON.stringify(v).includes('"__proto__"'));
    await fc.assert(
      fc.asyncProperty(plain, async (value) => {
        const { repo } = store(format);
        const box = new Box('j');
        box.putRaw(value);
        await repo.save(box);
        const [record] = await collect(repo.events(Box, 'j'));
        expect((record?.event as PutRaw | undefined)?.value).toEqual(normalised(value));
      }),
      { numRuns: 200 },
    );
  });
});
