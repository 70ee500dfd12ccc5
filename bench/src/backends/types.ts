import type { FileSystem } from '@evsrc/core';

/** The backends, in the order they run. */
export const BACKENDS = ['memory', 'local', 'redis', 'azure', 's3'] as const;
export type BackendName = (typeof BACKENDS)[number];

/**
 * A raw baseline's store: the backend's own client, used directly. `create` is the same
 * atomic create-if-absent primitive evsrc's adapter relies on; `list` is the backend's
 * native ordered listing; `read` fetches a whole file.
 */
export interface RawStore {
  create(path: string, bytes: Uint8Array): Promise<void>;
  /** The names in `folder` (ending with `/`) after `startAfter`, in order. */
  list(folder: string, startAfter?: string): Promise<string[]>;
  read(path: string): Promise<Uint8Array>;
}

/** One pair of empty stores for one (backend, parser) run: evsrc's and the raw baseline's. */
export interface Target {
  readonly fileSystem: FileSystem;
  readonly raw: RawStore;
  /**
   * Where workloads write data that is only set up to be read (W4, the round-trip sweep):
   * the same stores, but not durable on local disk, to keep set-up time down.
   */
  readonly setup: { readonly fileSystem: FileSystem; readonly raw: RawStore };
  /** Releases connections and removes the data. */
  close(): Promise<void>;
}

/** A running backend. */
export interface Backend {
  readonly name: BackendName;
  /** A network store (reached over loopback), scaled down by default. */
  readonly network: boolean;
  /** How evsrc and the raw baseline use it, printed with the results. */
  readonly description: string;
  /** Fresh, empty stores (a new folder, prefix or key space). */
  target(label: string): Promise<Target>;
  /** Stops its server and removes what is left. */
  stop(): Promise<void>;
}

/** What starting a backend gives: the backend, or why it is skipped. */
export type Started = Backend | { readonly skip: string };
