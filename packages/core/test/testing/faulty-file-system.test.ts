import { ErrorCode, InMemoryFileSystem, StorageError } from '@evsrc/core';
import { collect, FaultyFileSystem } from '@evsrc/core/testing';
import { describe, expect, it } from 'vitest';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const settle = (p: Promise<unknown>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
/** Resolves once nothing else is queued: a hung call is still hung then. */
const idle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('FaultyFileSystem', () => {
  it('fails the chosen operation on matching names only, N times, with a StorageError naming the call', async () => {
    const fs = new FaultyFileSystem(new InMemoryFileSystem());
    const rule = fs.inject({ operation: 'create', path: /^a\//, fault: 'fail', times: 2 });
    await fs.create('b/1', text('b')); // other name
    expect(str(await fs.read('a/1'))).toBeUndefined(); // other operation
    for (const name of ['a/1', 'a/2']) {
      const err = await fs.create(name, text('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ code: ErrorCode.Storage, operation: 'create', path: name });
      expect((err as StorageError).cause).toMatchObject({ code: 'EINJECTED' });
    }
    await fs.create('a/3', text('x')); // the budget is spent
    expect(rule.hits).toBe(2);
    expect(await collect(fs.inner.list(''))).toEqual(['a/3', 'b/1']);
    expect(fs.calls.filter((c) => c.fault).map((c) => [c.operation, c.path, c.fault])).toEqual([
      ['create', 'a/1', 'fail'],
      ['create', 'a/2', 'fail'],
    ]);
  });

  it('does the work and then reports failure with fail-after, also for listings', async () => {
    const fs = new FaultyFileSystem(new InMemoryFileSystem());
    fs.inject({ operation: ['create', 'delete'], path: 'x', fault: 'fail-after', times: Number.POSITIVE_INFINITY });
    await expect(fs.create('x/1', text('landed'))).rejects.toBeInstanceOf(StorageError);
    expect(str(await fs.read('x/1'))).toBe('landed');
    await expect(fs.delete('x/1')).rejects.toBeInstanceOf(StorageError);
    expect(await fs.read('x/1')).toBeUndefined();
    await fs.create('y/1', text('1'));
    await fs.create('y/2', text('2'));
    fs.inject({ operation: 'list', fault: 'fail-after' });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const name of fs.list('y/')) seen.push(name);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['y/1', 'y/2']);
    expect(err).toMatchObject({ code: ErrorCode.Storage, operation: 'list', path: 'y/' });
  });

  it('fails a listing when its iteration starts, and throws the error a rule gives', async () => {
    const fs = new FaultyFileSystem(new InMemoryFileSystem());
    await fs.create('z/1', text('1'));
    const raw = new Error('socket hang up');
    fs.inject({ operation: 'list', path: (p) => p.startsWith('z'), fault: 'fail', error: () => raw });
    await expect(collect(fs.list('z/'))).rejects.toBe(raw);
    expect(await collect(fs.list('z/'))).toEqual(['z/1']);
  });

  it('hangs a call until release(), which lets it land late; delays land after their delay', async () => {
    const fs = new FaultyFileSystem(new InMemoryFileSystem());
    fs.inject({ operation: 'create', fault: 'hang' });
    const data = text('late');
    const pending = settle(fs.create('h/1', data));
    data.fill(0); // the caller reuses its buffer while the call hangs
    await idle();
    expect(fs.hanging).toBe(1);
    expect(await fs.read('h/1')).toBeUndefined();
    expect(fs.release()).toBe(1);
    expect(await pending).toEqual({ ok: true, value: undefined });
    expect(str(await fs.read('h/1'))).toBe('late');

    fs.inject({ operation: 'read', fault: { delayMs: 40 } });
    const started = performance.now();
    expect(str(await fs.read('h/1'))).toBe('late');
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('hangs a listing until release()', async () => {
    const fs = new FaultyFileSystem(new InMemoryFileSystem());
    await fs.create('l/1', text('1'));
    fs.inject({ operation: 'list', fault: 'hang' });
    const listing = settle(collect(fs.list('l/')));
    await idle();
    expect(fs.hanging).toBe(1);
    fs.release();
    expect(await listing).toEqual({ ok: true, value: ['l/1'] });
  });

  it('skips the first matching calls, and stops hitting once removed or cleared', async () => {
    const fs = new FaultyFileSystem(new InMemoryFileSystem());
    const rule = fs.inject({ operation: 'read', fault: 'fail', skip: 2, times: Number.POSITIVE_INFINITY });
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await settle(fs.read('r'))).ok);
    expect(outcomes).toEqual([true, true, false, false]);
    rule.remove();
    expect((await settle(fs.read('r'))).ok).toBe(true);
    fs.inject({ fault: 'fail', times: Number.POSITIVE_INFINITY });
    expect((await settle(fs.delete('r'))).ok).toBe(false);
    fs.clear();
    expect((await settle(fs.delete('r'))).ok).toBe(true);
  });

  it('hits calls with a probability drawn from a seeded generator: same seed, same calls', async () => {
    const pattern = async (seed: number) => {
      const fs = new FaultyFileSystem(new InMemoryFileSystem({ async: false }), { seed });
      fs.inject({ operation: 'read', fault: 'fail', probability: 0.3 });
      const hits: boolean[] = [];
      for (let i = 0; i < 1000; i++) hits.push(!(await settle(fs.read(`p/${i}`))).ok);
      return hits;
    };
    const a = await pattern(7);
    expect(await pattern(7)).toEqual(a);
    expect(await pattern(8)).not.toEqual(a);
    const rate = a.filter(Boolean).length / a.length;
    expect(rate).toBeGreaterThan(0.25);
    expect(rate).toBeLessThan(0.35);
  });

  it('refuses meaningless rules', () => {
    const fs = new FaultyFileSystem(new InMemoryFileSystem());
    expect(() => fs.inject({ fault: 'fail', probability: 1.5 })).toThrow(RangeError);
    expect(() => fs.inject({ fault: 'fail', times: -1 })).toThrow(RangeError);
    expect(() => fs.inject({ fault: { delayMs: -5 } })).toThrow(RangeError);
  });
});
