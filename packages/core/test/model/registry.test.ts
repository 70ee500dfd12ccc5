import { Aggregate, ChangeEvent, ConfigurationError, CorruptFileError, UnknownEventTypeError } from '@evsrc/core';
import { EventRegistry } from '@evsrc/core/internals';
import { describe, expect, it } from 'vitest';

class Thing extends Aggregate {
  static readonly type = 'thing';
  n = 0;
}
class Added extends ChangeEvent<Thing> {
  static readonly type = 'added';
  constructor(readonly by: number) {
    super();
  }
  applyOn(t: Thing) {
    t.n += this.by;
  }
}
class Unregistered extends ChangeEvent<Thing> {
  static readonly type = 'unregistered';
  applyOn() {}
}

describe('event registry', () => {
  const registry = new EventRegistry('thing', [Added]);

  it('rebuilds registered events from their payload, as instances of their class', () => {
    const e = registry.create('added', { by: 3 }, 'p');
    expect(e).toBeInstanceOf(Added);
    const t = new Thing('t');
    e.applyOn(t);
    expect(t.n).toBe(3);
    expect(registry.nameOf(new Added(1))).toBe('added');
  });

  it('gives a typed error naming the file for an unknown name, and never evaluates code', () => {
    expect(() => registry.create('constructor', {}, 'a/b.batch')).toThrow(UnknownEventTypeError);
    expect(() => registry.create('__proto__', {}, 'a/b.batch')).toThrow(/a\/b\.batch/);
    expect(() => registry.nameOf(new Unregistered())).toThrow(UnknownEventTypeError);
  });

  it('cannot be tricked into changing an event’s prototype: a __proto__ field is refused, naming the file', () => {
    const payload = JSON.parse('{"by": 1, "__proto__": {"applyOn": "evil"}}');
    for (let i = 0; i < 3; i++) {
      expect(() => registry.create('added', payload, 'a/b.batch')).toThrow(CorruptFileError);
      expect(() => registry.create('added', payload, 'a/b.batch')).toThrow(/a\/b\.batch.*"__proto__"/);
      registry.create('added', { by: i }); // the shape { by } is compiled in between
    }
  });

  it('refuses payload fields named like a setter or getter of the class, never calling them', () => {
    let setterCalls = 0;
    class Guarded extends ChangeEvent<Thing> {
      static readonly type = 'guarded';
      set by(_value: number) {
        setterCalls++;
      }
      get total(): number {
        return 42;
      }
      applyOn() {}
    }
    const registry = new EventRegistry('thing', [Guarded, Added]);
    for (let i = 0; i < 3; i++) {
      expect(() => registry.create('guarded', { by: 7, plain: 'x' }, 'f')).toThrow(/Corrupt file f: .*"by"/);
      expect(() => registry.create('guarded', { total: 1 }, 'f')).toThrow(/"total"/);
      const e = registry.create('guarded', { plain: 'x' }) as unknown as Record<string, unknown>;
      expect(setterCalls).toBe(0);
      expect([e.total, e.plain]).toEqual([42, 'x']);
    }
    const plain = registry.create('added', { by: 2 }) as Added;
    expect(plain.by).toBe(2);
  });

  it('builds the same events whatever the payload shape, including shapes it compiled before', () => {
    class Wide extends ChangeEvent<Thing> {
      static readonly type = 'wide';
      applyOn() {}
    }
    const registry = new EventRegistry('thing', [Wide]);
    const payloads: Record<string, unknown>[] = [
      { a: 1, b: 'x' },
      { a: 2, b: 'y' },
      { b: 'z', a: 3 }, // same keys, other order: another shape
      { a: 4 },
      { a: 5, b: 'w', c: null },
      { 0: 'index', a: 6 },
      {},
      ...Array.from({ length: 40 }, (_, i) => ({ [`k${i}`]: i })), // more shapes than are compiled
      { a: 7, b: 'v' },
    ];
    for (const payload of payloads) {
      const e = registry.create('wide', payload);
      expect(e).toBeInstanceOf(Wide);
      expect(Object.getPrototypeOf(e)).toBe(Wide.prototype);
      expect(e.constructor).toBe(Wide);
      expect(Object.keys(e)).toEqual(Object.keys(payload));
      expect({ ...e }).toEqual(payload);
      expect(e).not.toBe(payload);
    }
  });

  it('copies only own fields, even when the payload inherits enumerable ones', () => {
    const registry = new EventRegistry('thing', [Added]);
    for (let i = 0; i < 3; i++) registry.create('added', { by: i }); // the shape { by } is compiled
    const inherited = Object.create({ extra: 'inherited' }) as Record<string, unknown>;
    inherited.by = 9;
    const e = registry.create('added', inherited) as unknown as Record<string, unknown>;
    expect(Object.keys(e)).toEqual(['by']);
    expect(e.by).toBe(9);
    expect(e.extra).toBeUndefined();
  });

  it('refuses a payload that is not an object', () => {
    expect(() => registry.create('added', 'str', 'f')).toThrow(CorruptFileError);
    expect(() => registry.create('added', null, 'f')).toThrow(CorruptFileError);
  });

  it('refuses duplicate or missing names at configuration time', () => {
    class Other extends ChangeEvent<Thing> {
      static readonly type = 'added';
      applyOn() {}
    }
    expect(() => new EventRegistry('thing', [Added, Other])).toThrow(ConfigurationError);
    class NoName extends ChangeEvent<Thing> {
      applyOn() {}
    }
    // biome-ignore lint/suspicious/noExplicitAny: testing a class without the static name.
    expect(() => new EventRegistry('thing', [NoName as any])).toThrow(ConfigurationError);
  });
});
