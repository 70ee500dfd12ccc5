import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, Repository } from '@evsrc/core';
import { batchPath } from '@evsrc/core/internals';
import { collect, TestAccount, testAccountType } from '@evsrc/core/testing';
import { LocalFileSystem, TEMPORARY_FOLDER } from '@evsrc/fs-local';
import { afterEach, describe, expect, it } from 'vitest';

const dirs: string[] = [];
const newDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'evsrc-links-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const bytes = (s: string) => new TextEncoder().encode(s);
const at = (root: string, path: string) => join(root, ...path.split('/'));

async function put(root: string, path: string, content: string): Promise<void> {
  await mkdir(join(at(root, path), '..'), { recursive: true });
  await writeFile(at(root, path), content);
}

/** Every entry under `dir` (recursively), links shown as `-> target`, files with their content. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const file = join(dir, name);
    const info = await lstat(file);
    if (info.isSymbolicLink()) out.push(`${name} -> ${await readlink(file)}`);
    else if (info.isFile()) out.push(`${name}: ${await readFile(file, 'utf8')}`);
    else out.push(`${name}/`);
  }
  return out;
}

/** What an operation did: 'ok', or the code of its error and whether its message names `link` as a symbolic link. */
async function outcome(operation: Promise<unknown>): Promise<string> {
  try {
    await operation;
    return 'ok';
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const link = /(?:"([^"]+)"|it) is a symbolic link; evsrc does not follow symbolic links/.exec(message);
    return link ? `${code} link ${link[1] ?? 'itself'}` : `${code} ${message}`;
  }
}

/** Runs every operation of the FileSystem on `paths`, and says how each ended. */
async function everyOperation(fs: LocalFileSystem, paths: readonly string[]): Promise<Record<string, string>> {
  const results: Record<string, string> = {};
  for (const path of paths) {
    const folder = path.slice(0, path.lastIndexOf('/') + 1);
    results[`read ${path}`] = await outcome(fs.read(path));
    results[`list ${folder}`] = await outcome(collect(fs.list(folder)));
    results[`create ${path}`] = await outcome(fs.create(path, bytes('new')));
    results[`replace ${path}`] = await outcome(fs.replace(path, bytes('replaced')));
    results[`delete ${path}`] = await outcome(fs.delete(path));
  }
  return results;
}

const refusedAll = (paths: readonly string[], link: string): Record<string, string> =>
  Object.fromEntries(
    paths.flatMap((path) => {
      const folder = path.slice(0, path.lastIndexOf('/') + 1);
      const why = `${ErrorCode.Storage} link ${path === link ? 'itself' : link}`;
      return [
        [`read ${path}`, why],
        [`list ${folder}`, `${ErrorCode.Storage} link ${link}`],
        [`create ${path}`, why],
        [`replace ${path}`, why],
        [`delete ${path}`, why],
      ];
    }),
  );

describe('LocalFileSystem and symbolic links inside the root', () => {
  it('a linked aggregate type folder is listed, and refused by every operation, naming it; nothing is written through it', async () => {
    const [root, outside] = [await newDir(), await newDir()];
    await put(outside, 'counter/x/events/000000000001.batch', 'v1');
    await symlink(join(outside, 'counter'), at(root, 'counter'), 'dir');
    const before = await tree(outside);
    const fs = new LocalFileSystem({ root, durable: false });

    // Seen, as a name with nothing below it: not silently left out.
    expect(await collect(fs.list(''))).toEqual(['counter']);
    expect(await collect(fs.list('cou'))).toEqual(['counter']);
    const paths = ['counter/x/events/000000000001.batch', 'counter/x/events/000000000002.batch', 'counter/y/a'];
    expect(await everyOperation(fs, paths)).toEqual(refusedAll(paths, 'counter'));
    expect(await outcome(fs.read('counter'))).toBe(`${ErrorCode.Storage} link itself`);
    expect(await outcome(fs.create('counter', bytes('x')))).toBe(`${ErrorCode.Storage} link itself`);
    expect(await tree(outside)).toEqual(before);
  });

  it('a linked aggregate folder is listed, and refused by every operation, naming it', async () => {
    const [root, outside] = [await newDir(), await newDir()];
    await put(root, 'counter/a/events/000000000001.batch', 'a1');
    await put(outside, 'x/events/000000000001.batch', 'v1');
    await symlink(join(outside, 'x'), at(root, 'counter/x'), 'dir');
    const before = await tree(outside);
    const fs = new LocalFileSystem({ root, durable: false });

    expect(await collect(fs.list(''))).toEqual(['counter/a/events/000000000001.batch', 'counter/x']);
    expect(await collect(fs.list('counter/'))).toEqual(['counter/a/events/000000000001.batch', 'counter/x']);
    const paths = ['counter/x/events/000000000001.batch', 'counter/x/snapshots/000000000001.snap'];
    expect(await everyOperation(fs, paths)).toEqual(refusedAll(paths, 'counter/x'));
    expect(await tree(outside)).toEqual(before);
    // Its neighbours are untouched by it.
    expect(await fs.read('counter/a/events/000000000001.batch')).toEqual(Buffer.from('a1'));
  });

  it('a linked batch file is listed and refused; creating its name is refused, not taken for a lost race', async () => {
    const [root, outside] = [await newDir(), await newDir()];
    const events = 'counter/x/events/';
    await put(root, `${events}000000000001.batch`, 'v1');
    await put(outside, 'elsewhere.batch', 'outside');
    await symlink('000000000001.batch', at(root, `${events}000000000002.batch`)); // inside the root
    await symlink(join(outside, 'elsewhere.batch'), at(root, `${events}000000000003.batch`)); // outside it
    await symlink(join(outside, 'nothing'), at(root, `${events}000000000004.batch`)); // leading nowhere
    const before = await tree(outside);
    const fs = new LocalFileSystem({ root, durable: false });

    expect(await collect(fs.list(events))).toEqual([1, 2, 3, 4].map((v) => `${events}00000000000${v}.batch`));
    for (const v of [2, 3, 4]) {
      const path = `${events}00000000000${v}.batch`;
      expect(await outcome(fs.read(path)), path).toBe(`${ErrorCode.Storage} link itself`);
      expect(await outcome(fs.create(path, bytes('new'))), path).toBe(`${ErrorCode.Storage} link itself`);
      expect(await outcome(fs.replace(path, bytes('new'))), path).toBe(`${ErrorCode.Storage} link itself`);
      expect(await outcome(fs.delete(path)), path).toBe(`${ErrorCode.Storage} link itself`);
      expect((await lstat(at(root, path))).isSymbolicLink(), path).toBe(true);
    }
    expect(await tree(outside)).toEqual(before);
  });

  it('a save beside a linked batch file fails at once with a typed error naming it, not RETRIES_EXHAUSTED', async () => {
    const root = await newDir();
    const fileSystem = new LocalFileSystem({ root, durable: false });
    const repository = new Repository({ fileSystem, aggregates: [testAccountType()] });
    const account = new TestAccount('x');
    account.open('Ann');
    await repository.save(account);
    const second = batchPath('test-account', 'x', 2);
    await symlink('000000000001.batch', at(root, second));

    const load = await repository.get(TestAccount, 'x').catch((e: unknown) => e);
    expect(load).toMatchObject({ code: ErrorCode.Storage, path: second });
    const save = await repository
      .execute(TestAccount, 'x', (a) => a.deposit(1), { maxAttempts: 3 })
      .catch((e: unknown) => e);
    expect(save).toMatchObject({ code: ErrorCode.Storage, path: second });
    expect((save as Error).message).toMatch(/symbolic link/);
  });

  it('never writes through a link that leads outside the root, even in a folder this process already used', async () => {
    const [root, outside] = [await newDir(), await newDir()];
    await mkdir(join(outside, 'tmp'));
    await mkdir(join(outside, 'events'));
    const fs = new LocalFileSystem({ root, durable: false });
    await fs.create('counter/x/events/000000000001.batch', bytes('v1'));
    expect(await fs.read('counter/x/events/000000000001.batch')).toEqual(Buffer.from('v1'));
    // The folder the process has used is swapped for a link leading outside.
    await rename(at(root, 'counter/x/events'), join(outside, 'events-moved'));
    await symlink(join(outside, 'events'), at(root, 'counter/x/events'), 'dir');
    const before = await tree(outside);
    for (const write of [
      () => fs.create('counter/x/events/000000000002.batch', bytes('v2')),
      () => fs.replace('counter/x/events/000000000002.batch', bytes('v2')),
      () => fs.delete('counter/x/events/000000000001.batch'),
    ]) {
      expect(await outcome(write())).toBe(`${ErrorCode.Storage} link counter/x/events`);
    }
    expect(await tree(outside)).toEqual(before);

    // The temporary files' folder: a link there is refused before anything is written.
    const other = await newDir();
    await symlink(join(outside, 'tmp'), at(other, TEMPORARY_FOLDER), 'dir');
    const fresh = new LocalFileSystem({ root: other, durable: false });
    expect(await outcome(fresh.create('a/b', bytes('b')))).toBe(`${ErrorCode.Storage} link itself`);
    expect(await readdir(join(outside, 'tmp'))).toEqual([]);
    await expect(fresh.read('a/b')).resolves.toBeUndefined();
  });

  it('the root itself may be a link, as may the folders above it; links below it are still refused', async () => {
    const real = await newDir();
    const links = await newDir();
    await symlink(real, join(links, 'root'), 'dir');
    for (const root of [join(links, 'root'), join(links, 'root', 'store', 'deep')]) {
      const fs = new LocalFileSystem({ root }); // durable: the folders' flushes go through the link too
      await fs.create('counter/x/events/000000000001.batch', bytes('v1'));
      await fs.create('top', bytes('t'));
      await fs.replace('counter/x/snapshots/000000000001.snap', bytes('s1'));
      await expect(fs.create('counter/x/events/000000000001.batch', bytes('again'))).rejects.toMatchObject({
        code: ErrorCode.FileExists,
      });
      expect(await collect(fs.list(''))).toEqual([
        'counter/x/events/000000000001.batch',
        'counter/x/snapshots/000000000001.snap',
        'top',
      ]);
      expect(await collect(fs.list('counter/x/events/'))).toEqual(['counter/x/events/000000000001.batch']);
      expect(await fs.read('counter/x/events/000000000001.batch')).toEqual(Buffer.from('v1'));
      await fs.delete('counter/x/snapshots/000000000001.snap');
      expect(await fs.read('counter/x/snapshots/000000000001.snap')).toBeUndefined();
      expect(await fs.read('counter/y/events/000000000001.batch')).toBeUndefined();
      // Below the linked root, a link is refused all the same.
      await symlink(at(root, 'counter/x'), at(root, 'counter/z'), 'dir');
      expect(await collect(fs.list('counter/'))).toContain('counter/z');
      expect(await outcome(fs.read('counter/z/events/000000000001.batch'))).toBe(`${ErrorCode.Storage} link counter/z`);
      expect(await outcome(fs.create('counter/z/events/000000000002.batch', bytes('v2')))).toBe(
        `${ErrorCode.Storage} link counter/z`,
      );
    }
    expect(await readFile(join(real, 'store', 'deep', 'counter', 'x', 'events', '000000000001.batch'), 'utf8')).toBe(
      'v1',
    );
  });
});
