import { InMemoryFileSystem } from '@evsrc/core';
import type { Backend, RawStore, Target } from './types.js';

/**
 * The raw baseline in memory: a `Map` of byte arrays, copied in and out (as any store
 * that must not share its buffers does), with a sorted name list per folder.
 */
class MapStore implements RawStore {
  readonly #files = new Map<string, Uint8Array>();
  readonly #folders = new Map<string, string[]>();

  async create(path: string, bytes: Uint8Array): Promise<void> {
    if (this.#files.has(path)) throw new Error(`exists: ${path}`);
    this.#files.set(path, new Uint8Array(bytes)); // a copy (Buffer#slice would be a view)
    const slash = path.lastIndexOf('/') + 1;
    const folder = path.slice(0, slash);
    let names = this.#folders.get(folder);
    if (!names) {
      names = [];
      this.#folders.set(folder, names);
    }
    const name = path.slice(slash);
    // Writers append in order; keep the list sorted if they do not.
    if (names.length > 0 && (names.at(-1) as string) > name) {
      names.push(name);
      names.sort();
    } else names.push(name);
  }

  async list(folder: string, startAfter?: string): Promise<string[]> {
    const names = this.#folders.get(folder) ?? [];
    const after = startAfter?.slice(folder.length);
    return names.filter((n) => after === undefined || n > after).map((n) => folder + n);
  }

  async read(path: string): Promise<Uint8Array> {
    const bytes = this.#files.get(path);
    if (!bytes) throw new Error(`missing: ${path}`);
    return new Uint8Array(bytes);
  }
}

export function startMemory(): Backend {
  return {
    name: 'memory',
    network: false,
    description:
      'evsrc: InMemoryFileSystem (default options: yields to the event loop once per call). raw: a Map of byte arrays, copied in and out, with a sorted name list per folder.',
    async target(): Promise<Target> {
      const fileSystem = new InMemoryFileSystem();
      const raw = new MapStore();
      return { fileSystem, raw, setup: { fileSystem, raw }, close: async () => undefined };
    },
    stop: async () => undefined,
  };
}
