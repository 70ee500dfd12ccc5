import { randomBytes } from 'node:crypto';
import { collect } from '@evsrc/core/testing';
import type { Redis } from 'ioredis';
import { describe, inject, it } from 'vitest';
import { folderOf, hashTag, slotHead } from '../src/keys.js';
import { RedisFileSystem, type RedisFileSystemOptions } from '../src/redis-file-system.js';

/** The private test server (see global-setup.ts). */
export const redisUrl = inject('redisUrl');
/** Why the Redis tests are skipped, or `''`. */
export const skipReason = inject('redisSkip');

/** Defines the suites in `define`, or one skipped suite saying why redis-server is missing. */
export function describeRedis(name: string, define: () => void): void {
  if (skipReason) {
    describe.skip(`${name}: ${skipReason}`, () => {
      it('needs redis-server', () => undefined);
    });
  } else {
    describe(name, define);
  }
}

/** A key prefix no other test uses. */
export const freshPrefix = (): string => `test-${randomBytes(6).toString('hex')}:`;

/** Swallows the persistence warning of the memory-only test server. */
export const quiet = (): void => undefined;

/** A file system with its own connection to the test server and a fresh prefix (or the given one). */
export function openFs(options: Partial<RedisFileSystemOptions> = {}): RedisFileSystem {
  return new RedisFileSystem({ url: redisUrl, prefix: freshPrefix(), onWarning: quiet, ...options });
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One command as the client sent it. */
export interface SentCommand {
  readonly name: string;
  readonly args: readonly unknown[];
}

/** Records every command the client sends from now on. */
export function recordCommands(client: Redis): SentCommand[] {
  const sent: SentCommand[] = [];
  const original = client.sendCommand.bind(client);
  client.sendCommand = ((command, stream) => {
    sent.push({ name: command.name, args: [...command.args] });
    return original(command, stream);
  }) as Redis['sendCommand'];
  return sent;
}

/** The part of a key Redis Cluster hashes: between the first `{` and the next `}`. */
export function hashedPart(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** A key of the store, taken apart. */
export interface ParsedKey {
  readonly tag: string;
  readonly kind: 'f' | 'd';
  /** A file name, or a folder (`''` or ending with `/`). */
  readonly name: string;
}

/** Takes a key of the store apart (`undefined` if it is not one). */
export function parseKey(prefix: string, key: string): ParsedKey | undefined {
  if (!key.startsWith(`${prefix}{`)) return undefined;
  const close = key.indexOf('}', prefix.length + 1);
  const kind = key.slice(close + 1, close + 4);
  if (close < 0 || (kind !== ':f:' && kind !== ':d:')) return undefined;
  return { tag: key.slice(prefix.length + 1, close), kind: kind[1] as 'f' | 'd', name: key.slice(close + 4) };
}

/** Every key under a prefix (SCAN: fine for a test's audit, never used by the adapter). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** The files and folder indexes under a prefix, read from every given node. */
interface Store {
  readonly files: Set<string>;
  readonly folders: Map<string, string[]>;
}

async function readStore(nodes: Redis | readonly Redis[], prefix: string, problems: string[]): Promise<Store> {
  const store: Store = { files: new Set(), folders: new Map() };
  for (const node of Array.isArray(nodes) ? nodes : [nodes]) {
    for (const key of await keysUnder(node, prefix)) {
      const parsed = parseKey(prefix, key);
      if (!parsed) {
        problems.push(`foreign key ${key}`);
        continue;
      }
      const folder = parsed.kind === 'f' ? folderOf(parsed.name) : parsed.name;
      if (parsed.tag !== hashTag(folder)) problems.push(`wrong hash tag in ${key}`);
      if (parsed.kind === 'f') store.files.add(parsed.name);
      else store.folders.set(parsed.name, await node.zrange(key, 0, -1));
    }
  }
  return store;
}

/** The file and each folder above it must be listed in its parent. */
function checkReachable({ folders }: Store, file: string, problems: string[]): void {
  for (let child = file; child !== ''; ) {
    const parent = folderOf(child.endsWith('/') ? child.slice(0, -1) : child);
    if (!folders.get(parent)?.includes(child.slice(parent.length)))
      problems.push(`${child} is not listed in "${parent}"`);
    child = parent;
  }
}

/** Every listed file exists; a listed subfolder may be empty only in another slot than its parent. */
function checkEntries({ files, folders }: Store, folder: string, members: string[], problems: string[]): void {
  for (const member of members) {
    const name = folder + member;
    if (!member.endsWith('/')) {
      if (!files.has(name)) problems.push(`"${folder}" lists the missing file ${member}`);
    } else if (!folders.has(name) && slotHead(name) === slotHead(folder)) {
      problems.push(`"${folder}" lists the empty folder ${member} in its own slot`);
    }
  }
}

/**
 * Checks that the folder indexes and the files agree: every file is listed in its folder and
 * reachable from the root, every listed file exists, and a listed subfolder is empty only
 * where the adapter leaves it so (an entry in another hash slot). Give every master of a
 * cluster. Returns the problems found.
 */
export async function audit(nodes: Redis | readonly Redis[], prefix: string): Promise<string[]> {
  const problems: string[] = [];
  const store = await readStore(nodes, prefix, problems);
  for (const file of store.files) checkReachable(store, file, problems);
  for (const [folder, members] of store.folders) checkEntries(store, folder, members, problems);
  return problems;
}

/** Collects an async iterable (from the testing kit; the tests import it from here). */
export { collect };
