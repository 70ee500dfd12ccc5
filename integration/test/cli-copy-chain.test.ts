import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Repository } from '@evsrc/core';
import { BankAccount, bankAccounts } from '@evsrc/example-bank/dist/bank-account.js';
import { LocalFileSystem } from '@evsrc/fs-local';
import { describe, expect, it } from 'vitest';
import { EVSRC, node } from './run.js';
import { stores, type TestStore } from './stores.js';

async function seed(root: string): Promise<void> {
  const repository = new Repository({
    fileSystem: new LocalFileSystem({ root, durable: false }),
    aggregates: [bankAccounts],
    format: 'msgpack',
  });
  for (let a = 0; a < 4; a++) {
    const account = BankAccount.open(`acc-${a}`, `Owner ${a}`, 50);
    for (let s = 0; s < 30; s++) {
      account.deposit(7 + a);
      account.withdraw(3);
      await repository.save(account);
    }
  }
}

async function contents(root: string): Promise<Map<string, string>> {
  const fs = new LocalFileSystem({ root });
  const out = new Map<string, string>();
  for await (const name of fs.list(''))
    out.set(name, Buffer.from((await fs.read(name)) as Uint8Array).toString('base64'));
  return out;
}

describe('evsrc copy across every backend', async () => {
  const all = await stores();
  const missing = all.filter((s) => 'skip' in s);
  const chain = all.filter((s): s is TestStore => !('skip' in s));

  it.skipIf(missing.length > 0)('local → redis → azure → s3 → local gives identical aggregates', async () => {
    const back = await mkdtemp(join(tmpdir(), 'evsrc-int-back-'));
    try {
      const [local] = chain as [TestStore];
      await seed(local.url);
      const env = Object.assign({}, ...chain.map((s) => s.env));
      const hops = [...chain.map((s) => s.url), back];
      for (let i = 0; i + 1 < hops.length; i++) {
        const from = hops[i] as string;
        const to = hops[i + 1] as string;
        const copy = await node(EVSRC, ['copy', from, to], env);
        expect(copy.stderr, `${from} → ${to}`).toContain('copied 124 files, 0 already there, 0 conflicts');
        expect(copy.stderr).toContain('verified the destination: 4 aggregates, 0 problems');
        expect(copy.code).toBe(0);
        const ls = await node(EVSRC, ['ls', to, 'bank-account'], env);
        expect(ls.stdout).toBe('acc-0\nacc-1\nacc-2\nacc-3\n');
      }
      expect(await contents(back)).toEqual(await contents(local.url));
      const shown = await node(EVSRC, ['show', hops[3] as string, 'bank-account', 'acc-2', '--json'], env);
      const events = shown.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events).toHaveLength(61);
      expect(events.at(-1)).toMatchObject({ version: 61, type: 'money-withdrawn', payload: { amount: 3 } });
    } finally {
      await rm(back, { recursive: true, force: true });
    }
  });
});
