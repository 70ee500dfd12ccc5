import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { type FileSystem, Repository } from '@evsrc/core';
import { BankAccount, bankAccounts } from '../../../examples/bank/src/bank-account.js';

/** The built `evsrc` binary. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
/** The example's registrations, built, for `verify --aggregates`. */
export const AGGREGATES_MODULE = fileURLToPath(new URL('../../../examples/bank/dist/bank-account.js', import.meta.url));

/** Runs `evsrc` as a separate process. */
export function evsrc(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Starts `evsrc` without waiting for it. */
export function spawnEvsrc(args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A temporary folder, removed by the returned function. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'evsrc-cli-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `accounts` bank accounts with `saves` saves of two events each, snapshots every 50 events. */
export async function seed(fileSystem: FileSystem, accounts: number, saves: number): Promise<Repository> {
  const repository = new Repository({ fileSystem, aggregates: [bankAccounts], format: 'msgpack' });
  for (let a = 0; a < accounts; a++) {
    const account = BankAccount.open(`acc-${a}`, `Owner ${a}`, 100);
    await repository.save(account);
    for (let s = 0; s < saves; s++) {
      account.deposit(10 + s);
      account.withdraw(5);
      await repository.save(account);
    }
  }
  return repository;
}

/**
 * Adds `id` and `prev` to the header of a feed log entry, sealed again as the envelope seals
 * headers (`hcrc32`, the CRC-32 of the line before it, last): an entry as writers that link
 * entries write it.
 */
export function withLinks(entry: Uint8Array, links: { id?: string; prev?: string }): Uint8Array {
  const end = entry.indexOf(0x0a);
  const { hcrc32: _, ...header } = JSON.parse(new TextDecoder().decode(entry.subarray(0, end))) as Record<
    string,
    unknown
  >;
  const covered = JSON.stringify({ ...header, ...links }).slice(0, -1);
  const line = new TextEncoder().encode(`${covered},"hcrc32":${crc32(covered)}}\n`);
  return Buffer.concat([line, entry.subarray(end + 1)]);
}
