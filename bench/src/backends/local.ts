import { randomUUID } from 'node:crypto';
import { link, mkdir, mkdtemp, open, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createLocalFileSystem } from '@evsrc/fs-local';
import type { Backend, RawStore, Target } from './types.js';

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The raw baseline on local disk, with `node:fs` only: the primitive evsrc's adapter uses.
 * create: write a temporary file (+ fsync when durable), `link()` it to its name (fails if
 * taken), unlink the temporary, fsync the folder (when durable); new folders are made once
 * and their parents flushed (when durable). list: `readdir` + sort. read: `readFile`.
 */
export class NodeFsStore implements RawStore {
  readonly #folders = new Set<string>();
  readonly #tmp: string;

  constructor(
    readonly root: string,
    readonly durable: boolean,
  ) {
    this.#tmp = join(root, '.tmp');
  }

  async create(path: string, bytes: Uint8Array): Promise<void> {
    const full = join(this.root, path);
    const folder = dirname(full);
    await this.#folder(this.#tmp);
    const tmp = join(this.#tmp, `${randomUUID()}.tmp`);
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      if (this.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await this.#folder(folder);
    try {
      await link(tmp, full);
    } finally {
      await unlink(tmp);
    }
    if (this.durable) await syncFolder(folder);
  }

  async list(folder: string, startAfter?: string): Promise<string[]> {
    const names = (await readdir(join(this.root, folder))).sort();
    const after = startAfter?.slice(folder.length);
    return names.filter((n) => after === undefined || n > after).map((n) => folder + n);
  }

  read(path: string): Promise<Uint8Array> {
    return readFile(join(this.root, path));
  }

  async #folder(folder: string): Promise<void> {
    if (this.#folders.has(folder)) return;
    const created = await mkdir(folder, { recursive: true });
    if (created !== undefined && this.durable) {
      for (let d = folder; d.length >= created.length; d = dirname(d)) await syncFolder(dirname(d));
    }
    this.#folders.add(folder);
  }
}

export async function startLocal(durable: boolean): Promise<Backend> {
  const root = await mkdtemp(join(tmpdir(), 'evsrc-bench-'));
  const flush = durable ? 'durable: every write flushes the file and its folder (fsync)' : 'not durable (no fsync)';
  return {
    name: 'local',
    network: false,
    description: `a fresh folder under ${tmpdir()}; both sides ${flush}. evsrc: @evsrc/fs-local. raw: node:fs — temp file, link(), unlink, folder fsync; readdir + sort; readFile.`,
    async target(label: string): Promise<Target> {
      const folder = join(root, label);
      const evsrcRoot = join(folder, 'evsrc');
      const rawRoot = join(folder, 'raw');
      return {
        fileSystem: createLocalFileSystem({ root: evsrcRoot, durable }),
        raw: new NodeFsStore(rawRoot, durable),
        setup: {
          fileSystem: createLocalFileSystem({ root: evsrcRoot, durable: false }),
          raw: new NodeFsStore(rawRoot, false),
        },
        close: () => rm(folder, { recursive: true, force: true }),
      };
    },
    stop: () => rm(root, { recursive: true, force: true }),
  };
}
