import { InMemoryFileSystem } from '@evsrc/core';
import { describe, expect, it } from 'vitest';

describe('InMemoryFileSystem', () => {
  it('never shares its stored bytes with callers', async () => {
    const fs = new InMemoryFileSystem();
    const given = new Uint8Array([1, 2, 3]);
    await fs.create('a/1', given);
    given.fill(9); // the caller reuses its buffer after create
    const read = (await fs.read('a/1')) as Uint8Array;
    expect([...read]).toEqual([1, 2, 3]);
    read.fill(7); // the caller changes what it read
    expect([...((await fs.read('a/1')) as Uint8Array)]).toEqual([1, 2, 3]);
    const replacement = Buffer.from([4, 5]);
    await fs.replace('a/1', replacement);
    replacement.fill(0);
    const again = (await fs.read('a/1')) as Uint8Array;
    expect(again).toBeInstanceOf(Uint8Array);
    expect([...again]).toEqual([4, 5]);
    expect(again.buffer).not.toBe((await fs.read('a/1'))?.buffer);
  });
});
