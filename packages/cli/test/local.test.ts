import { readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Projection, Repository } from '@evsrc/core';
import { batchPath, snapshotPath, writeFile as writeEvsrcFile } from '@evsrc/core/internals';
import { LocalFileSystem } from '@evsrc/fs-local';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BankAccount, bankAccounts } from '../../../examples/bank/src/bank-account.js';
import { AGGREGATES_MODULE, evsrc, seed, tempDir } from './helpers.js';

let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir, remove } = await tempDir());
  await seed(new LocalFileSystem({ root: dir, durable: false }), 3, 30);
});
afterEach(() => remove());

describe('evsrc on a local store', () => {
  it('ls lists the types, then the ids of a type', async () => {
    expect(await evsrc(['ls', dir])).toMatchObject({ code: 0, stdout: 'bank-account\n' });
    expect(await evsrc(['ls', dir, 'bank-account'])).toMatchObject({ code: 0, stdout: 'acc-0\nacc-1\nacc-2\n' });
    expect((await evsrc(['ls', dir, 'nothing'])).code).toBe(1);
  });

  it('show prints the events, as text or JSON lines, up to a version', async () => {
    const text = await evsrc(['show', dir, 'bank-account', 'acc-1', '--at-version', '3']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^v1 {2}\S+ {2}account-opened {2}\{"owner":"Owner 1","overdraftLimit":100\}$/);
    const json = await evsrc(['show', dir, 'bank-account', 'acc-1', '--json']);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toHaveLength(61);
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1));
    expect(events[1]).toMatchObject({ aggregateId: 'acc-1', type: 'money-deposited', payload: { amount: 10 } });
    expect(await evsrc(['show', dir, 'bank-account', 'nobody'])).toMatchObject({ code: 1 });
  });

  it('verify passes a sound store, snapshots compared with a replay', async () => {
    const result = await evsrc(['verify', dir, '--snapshots', 'full', '--aggregates', AGGREGATES_MODULE]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('verified 3 aggregates, 96 files: 0 problems');
    expect(result.code).toBe(0);
  });

  it('ls and verify pass over the change feed and projections in .evsrc/, which are not aggregates', async () => {
    const { dir: fed, remove: removeFed } = await tempDir();
    try {
      const fileSystem = new LocalFileSystem({ root: fed, durable: false });
      const repository = new Repository({ fileSystem, aggregates: [bankAccounts], feed: true });
      await repository.save(BankAccount.open('acc-f', 'Fay'));
      await new Projection({
        feed: repository.feed,
        fileSystem,
        name: 'count',
        initialState: () => 0,
        handle: (n) => n + 1,
      }).catchUp();
      expect(await fileSystem.read('.evsrc/feed/enabled')).toBeDefined();
      expect(await evsrc(['ls', fed])).toMatchObject({ code: 0, stdout: 'bank-account\n' });
      const result = await evsrc(['verify', fed]);
      expect(result.stderr).toContain('verified 1 aggregates, 1 files: 0 problems');
      expect(result.code).toBe(0);
    } finally {
      await removeFed();
    }
  });

  it('verify finds a truncated batch, a gap, a misplaced file, a stray file and a wrong snapshot', async () => {
    const at = (p: string) => join(dir, ...p.split('/'));
    const truncated = batchPath('bank-account', 'acc-0', 4);
    const bytes = await readFile(at(truncated));
    await writeFile(at(truncated), bytes.subarray(0, bytes.length - 3));
    const gap = batchPath('bank-account', 'acc-1', 10);
    const { rm } = await import('node:fs/promises');
    await rm(at(gap));
    // A valid batch of acc-2 placed in acc-1's folder under a free name.
    const misplaced = 'bank-account/acc-1/events/000000000900.batch';
    await writeFile(at(misplaced), await readFile(at(batchPath('bank-account', 'acc-2', 2))));
    await writeFile(at('bank-account/acc-2/notes.txt'), 'hello');
    // A well-formed snapshot whose state is wrong.
    const wrongSnapshot = snapshotPath('bank-account', 'acc-2', 51);
    const state = { owner: 'Owner 2', balance: 1e9, overdraftLimit: 100 };
    await writeFile(
      at(wrongSnapshot),
      writeEvsrcFile(
        { kind: 'snapshot', parser: 'json', type: 'bank-account', id: 'acc-2', version: 51, timestamp: 0 },
        new TextEncoder().encode(JSON.stringify(state)),
      ),
    );
    const result = await evsrc(['verify', dir, '--snapshots', 'full', '--aggregates', AGGREGATES_MODULE]);
    expect(result.code).toBe(1);
    const problems = result.stdout.trim().split('\n');
    const about = (path: string) => problems.filter((p) => p.startsWith(`${path}: `));
    expect(about(truncated)[0]).toMatch(/truncated|bytes/);
    expect(about(batchPath('bank-account', 'acc-1', 12))[0]).toMatch(/gap: expected version 10/);
    expect(about(misplaced)[0]).toMatch(/acc-2/);
    expect(about('bank-account/acc-2/notes.txt')[0]).toMatch(/unexpected file/);
    expect(about(wrongSnapshot)[0]).toMatch(/disagrees with a replay/);
    expect(problems).toHaveLength(5);
    expect(result.stderr).toMatch(/: 5 problems/);
  });

  it('verify, copy and show refuse symbolic links inside a local store, naming each, rather than skip them', async () => {
    const linked = await tempDir();
    const outside = await tempDir();
    const target = await tempDir();
    try {
      // A store whose aggregate type folder is a link to the seeded store's.
      await symlink(join(dir, 'bank-account'), join(linked.dir, 'bank-account'), 'dir');
      const verify = await evsrc(['verify', linked.dir]);
      expect(verify.stdout).toMatch(/^bank-account: not an evsrc aggregate type folder: .*: it is a symbolic link/m);
      expect(verify.stderr).toContain('verified 0 aggregates, 0 files: 1 problems');
      expect(verify.code).toBe(1);
      const copy = await evsrc(['copy', linked.dir, target.dir]);
      expect(copy.stderr).toMatch(/bank-account.* is a symbolic link/);
      expect(copy.code).toBe(3);
      const show = await evsrc(['show', linked.dir, 'bank-account', 'acc-1']);
      expect(show.stdout).toBe('');
      expect(show.stderr).toContain('"bank-account" is a symbolic link');
      expect(show.code).toBe(3);

      // In the seeded store: an aggregate folder moved elsewhere and linked, and a batch file made a link.
      await rename(join(dir, 'bank-account', 'acc-2'), join(outside.dir, 'acc-2'));
      await symlink(join(outside.dir, 'acc-2'), join(dir, 'bank-account', 'acc-2'), 'dir');
      const batch = batchPath('bank-account', 'acc-0', 2);
      await rename(join(dir, ...batch.split('/')), join(outside.dir, 'batch'));
      await symlink(join(outside.dir, 'batch'), join(dir, ...batch.split('/')));
      const inside = await evsrc(['verify', dir]);
      const problems = inside.stdout.trim().split('\n');
      expect(problems).toHaveLength(2);
      expect(problems.find((p) => p.startsWith('bank-account/acc-2: '))).toMatch(/symbolic link/);
      expect(problems.find((p) => p.startsWith(`${batch}: `))).toMatch(/symbolic link/);
      expect(inside.code).toBe(1);
    } finally {
      for (const d of [linked, outside, target]) await d.remove();
    }
  });

  it('copy refuses to overwrite different data, and a second run copies nothing twice', async () => {
    const target = await tempDir();
    try {
      const first = await evsrc(['copy', dir, target.dir]);
      expect(first.code).toBe(0);
      expect(first.stderr).toContain('copied 96 files, 0 already there, 0 conflicts');
      const again = await evsrc(['copy', dir, target.dir]);
      expect(again.stderr).toContain('copied 0 files, 96 already there, 0 conflicts');
      const path = batchPath('bank-account', 'acc-0', 1);
      const original = await readFile(join(target.dir, ...path.split('/')));
      await writeFile(join(dir, ...path.split('/')), Buffer.concat([original, Buffer.from('x')]));
      const conflict = await evsrc(['copy', dir, target.dir, '--no-verify']);
      expect(conflict.code).toBe(1);
      expect(conflict.stdout).toContain(`${path}: exists at the destination with different content`);
      expect(await readFile(join(target.dir, ...path.split('/')))).toEqual(original);
    } finally {
      await target.remove();
    }
  });

  it('reports bad usage and bad URLs with exit code 2, without echoing secrets', async () => {
    expect((await evsrc(['nonsense'])).code).toBe(2);
    expect((await evsrc(['show', dir])).code).toBe(2);
    const bad = await evsrc(['ls', 'redis://user:Sup3rS3cret@127.0.0.1:1?bogus=1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr + bad.stdout).not.toContain('Sup3rS3cret');
    const help = await evsrc(['verify', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--snapshots <mode>');
  });
});
