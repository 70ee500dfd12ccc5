import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ErrorCode, isEvsrcError } from '@evsrc/core';
import { collect } from '@evsrc/core/testing';
import { LocalFileSystem, TEMPORARY_FOLDER } from '@evsrc/fs-local';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const roots: string[] = [];
const newRoot = async () => {
  const root = await mkdtemp(join(tmpdir(), 'evsrc-local-'));
  roots.push(root);
  return root;
};
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

describe('LocalFileSystem', () => {
  it('lets exactly one of four processes create each name', { timeout: 30_000 }, async () => {
    const root = await newRoot();
    const child = fileURLToPath(new URL('./create-race-child.mjs', import.meta.url));
    const n = 60;
    const outputs = await Promise.all(
      ['p0', 'p1', 'p2', 'p3'].map((tag) => run(process.execPath, [child, root, tag, String(n)])),
    );
    const wins = outputs.map((o, p) => ({ tag: `p${p}`, won: JSON.parse(o.stdout) as number[] }));
    const all = wins.flatMap((w) => w.won).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
    const fs = new LocalFileSystem({ root });
    for (const { tag, won } of wins) {
      for (const i of won) expect(new TextDecoder().decode(await fs.read(`race/${i}`))).toBe(tag);
    }
  });

  it('never lists files being written, and keeps the temporary folder reserved', async () => {
    const root = await newRoot();
    const fs = new LocalFileSystem({ root });
    await fs.create('a/1', new Uint8Array([1]));
    await writeFile(join(root, TEMPORARY_FOLDER, 'elsewhere.123.x.tmp'), 'partial');
    expect(await collect(fs.list(''))).toEqual(['a/1']);
    expect(await collect(fs.list('.'))).toEqual([]);
    for (const bad of [TEMPORARY_FOLDER, `${TEMPORARY_FOLDER}/x`]) {
      await expect(fs.create(bad, new Uint8Array())).rejects.toSatisfy((e) => isEvsrcError(e, ErrorCode.InvalidPath));
    }
  });

  it('cleans up leftovers of dead writers and old ones, but not those of live writers', async () => {
    const root = await newRoot();
    const tmp = join(root, TEMPORARY_FOLDER);
    await mkdir(tmp, { recursive: true });
    const { hostname } = await import('node:os');
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '_');
    const dead = `${host}.999999999.a.tmp`; // no such pid
    const live = `${host}.${process.pid}.b.tmp`;
    const otherHostFresh = 'otherhost.1.c.tmp';
    const otherHostOld = 'otherhost.1.d.tmp';
    for (const f of [dead, live, otherHostFresh, otherHostOld]) await writeFile(join(tmp, f), 'x');
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(tmp, otherHostOld), old, old);
    const fs = new LocalFileSystem({ root });
    await fs.create('first/write', new Uint8Array([1])); // cleans up before its first write
    expect((await readdir(tmp)).sort()).toEqual([live, otherHostFresh].sort());
  });

  it('works without flushing when durability is relaxed', async () => {
    const fs = new LocalFileSystem({ root: await newRoot(), durable: false });
    await fs.create('x/y', new Uint8Array([7]));
    await fs.replace('x/y', new Uint8Array([8]));
    expect([...((await fs.read('x/y')) as Uint8Array)]).toEqual([8]);
  });

  it('reads files of every size whole, each into bytes of its own', async () => {
    const root = await newRoot();
    const fs = new LocalFileSystem({ root, durable: false });
    const sizes = [0, 1, 6_000, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 300_000];
    const files = sizes.map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + k) & 0xff));
    await Promise.all(files.map((bytes, k) => fs.create(`f/${k}`, bytes)));
    const read = await Promise.all(files.map((_, k) => fs.read(`f/${k}`)));
    // Compared as buffers: a deep equality of 300,000 array elements takes seconds on a busy machine.
    const same = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && Buffer.from(b).equals(a);
    for (const [k, bytes] of files.entries()) expect(same(read[k], bytes), `file of ${bytes.length} bytes`).toBe(true);
    // Later reads must not change bytes already returned.
    const first = read[2] as Uint8Array;
    await Promise.all(files.map((_, k) => fs.read(`f/${k}`)));
    expect(same(first, files[2] as Uint8Array)).toBe(true);
    await mkdir(join(root, 'folder'));
    expect(await fs.read('folder')).toBeUndefined();
    expect(await fs.read('missing/file')).toBeUndefined();
    expect(await fs.read('f/0/under-a-file')).toBeUndefined();
  });

  it('reports a storage failure as a typed error naming the file', async () => {
    const root = await newRoot();
    await writeFile(join(root, 'blocker'), 'a file where a folder should be');
    const fs = new LocalFileSystem({ root });
    const err = await fs.create('blocker/child', new Uint8Array([1])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Storage, path: 'blocker/child' });
  });
});
