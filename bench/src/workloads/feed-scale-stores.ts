/**
 * The stores of `--feed-scale`: each backend's server started once by the parent, and a
 * fresh store per run described by a {@link StoreSpec} (plain JSON) that each writer
 * process opens with its own client.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { type FileSystem, InMemoryFileSystem } from '@evsrc/core';
import { createAzureFileSystem } from '@evsrc/fs-azure';
import { createLocalFileSystem } from '@evsrc/fs-local';
import { createRedisFileSystem } from '@evsrc/fs-redis';
import { createS3FileSystem } from '@evsrc/fs-s3';
import {
  type S3Connection,
  s3ClientConfig,
  startAzurite,
  startLatencyProxy,
  startRedis,
  startS3,
} from '@evsrc/test-servers';
import { BACKENDS } from '../backends/types.js';

/** The backends of `--feed-scale`: the bench's, and Redis behind a latency proxy. */
export const SCALE_BACKENDS = [...BACKENDS, 'redis+proxy'] as const;
export type ScaleBackendName = (typeof SCALE_BACKENDS)[number];

/** The delay of the proxy of `redis+proxy`, each way. */
export const PROXY_DELAY_MS = 5;

/** How a process opens one run's store: plain data, sent to the writer processes. */
export type StoreSpec =
  | { readonly kind: 'local'; readonly root: string; readonly durable: boolean }
  | { readonly kind: 'redis'; readonly url: string; readonly prefix: string }
  | { readonly kind: 'azure'; readonly connectionString: string; readonly container: string }
  | { readonly kind: 's3'; readonly connection: S3Connection; readonly prefix: string };

/** Opens the store of `spec` with a client of its own. */
export function openStore(spec: StoreSpec): FileSystem {
  switch (spec.kind) {
    case 'local':
      return createLocalFileSystem({ root: spec.root, durable: spec.durable });
    case 'redis':
      return createRedisFileSystem({ url: spec.url, prefix: spec.prefix, checkPersistence: false });
    case 'azure':
      return createAzureFileSystem({ connectionString: spec.connectionString, container: spec.container });
    case 's3':
      return createS3FileSystem({
        bucket: spec.connection.bucket,
        prefix: spec.prefix,
        clientConfig: s3ClientConfig(spec.connection),
      });
  }
}

/** One run's fresh store. */
export interface ScaleStore {
  /** What the writer processes open; undefined for memory (one store object, shared in-process). */
  readonly spec?: StoreSpec;
  /** What the parent counts files and bytes on afterwards (redis+proxy: Redis directly). */
  readonly inspect: FileSystem;
  /** Releases the parent's client and removes the data where that is cheap. */
  drop(): Promise<void>;
}

/** A running backend of `--feed-scale`. */
export interface ScaleBackend {
  readonly name: ScaleBackendName;
  readonly description: string;
  /** Writers in separate processes (false: memory, P writer groups in this process). */
  readonly processes: boolean;
  store(label: string): Promise<ScaleStore>;
  stop(): Promise<void>;
}

const closeOf = (fs: FileSystem) => async () => {
  await fs.close?.();
};

async function redisBackend(name: 'redis' | 'redis+proxy'): Promise<ScaleBackend | { skip: string }> {
  const server = await startRedis();
  if ('skip' in server) return server;
  const url = new URL(server.url);
  const proxy =
    name === 'redis+proxy'
      ? await startLatencyProxy({
          target: { host: url.hostname, port: Number(url.port) },
          delayMs: PROXY_DELAY_MS,
          scheme: 'redis',
        })
      : undefined;
  return {
    name,
    processes: true,
    description: proxy
      ? `a private redis-server (no persistence) reached through a TCP proxy adding ${PROXY_DELAY_MS} ms each way (a round trip ≥ ${2 * PROXY_DELAY_MS} ms); a fresh key prefix per run`
      : 'a private redis-server on loopback (no persistence); a fresh key prefix per run',
    async store(label) {
      const prefix = `scale:${label}:`;
      const inspect = openStore({ kind: 'redis', url: server.url, prefix });
      return { spec: { kind: 'redis', url: proxy?.url ?? server.url, prefix }, inspect, drop: closeOf(inspect) };
    },
    async stop() {
      await proxy?.stop();
      await server.stop();
    },
  };
}

/** Starts one backend's server (once per `--feed-scale` run), or says why it is skipped. */
export async function startScaleBackend(
  name: ScaleBackendName,
  durable: boolean,
): Promise<ScaleBackend | { skip: string }> {
  switch (name) {
    case 'memory':
      return {
        name,
        processes: false,
        description:
          'InMemoryFileSystem, which one process cannot share with another: P writer groups (one Repository each) in this one process, on one store',
        async store() {
          return { inspect: new InMemoryFileSystem(), drop: async () => undefined };
        },
        stop: async () => undefined,
      };
    case 'local': {
      const root = await mkdtemp(join(tmpdir(), 'evsrc-bench-scale-'));
      return {
        name,
        processes: true,
        description: `@evsrc/fs-local, a fresh folder per run under ${tmpdir()}, ${durable ? 'durable (fsync of each file and its folder)' : 'not durable (--durable=false)'}`,
        async store(label) {
          const spec: StoreSpec = { kind: 'local', root: join(root, label), durable };
          const inspect = openStore(spec);
          return {
            spec,
            inspect,
            drop: async () => {
              await inspect.close?.();
              await rm(spec.root, { recursive: true, force: true });
            },
          };
        },
        stop: () => rm(root, { recursive: true, force: true }),
      };
    }
    case 'redis':
    case 'redis+proxy':
      return redisBackend(name);
    case 'azure': {
      const server = await startAzurite();
      if ('skip' in server) return server;
      const service = BlobServiceClient.fromConnectionString(server.connectionString);
      return {
        name,
        processes: true,
        description: 'Azurite (in memory) on loopback, a fresh container per run',
        async store(label) {
          const container = label.toLowerCase().replace(/[^a-z0-9-]/g, '-');
          await service.getContainerClient(container).createIfNotExists();
          const spec: StoreSpec = { kind: 'azure', connectionString: server.connectionString, container };
          const inspect = openStore(spec);
          return {
            spec,
            inspect,
            drop: async () => {
              await inspect.close?.();
              await service.getContainerClient(container).deleteIfExists();
            },
          };
        },
        stop: () => server.stop(),
      };
    }
    case 's3': {
      const server = await startS3('evsrc-bench-scale');
      if ('skip' in server) return server;
      const { stop, ...connection } = server;
      return {
        name,
        processes: true,
        description: 'Ceph radosgw (one memstore OSD) on loopback, a fresh key prefix per run in one bucket',
        async store(label) {
          const spec: StoreSpec = { kind: 's3', connection, prefix: `${label}/evsrc` };
          const inspect = openStore(spec);
          return { spec, inspect, drop: closeOf(inspect) };
        },
        stop,
      };
    }
  }
}

/** What a run left in its store. */
export interface StoreStats {
  /** Every file, the feed's included. */
  readonly files: number;
  /** The sum of their sizes (each read once: the FileSystem port has no stat). */
  readonly bytes: number;
  /** `.entry` files under `.evsrc/feed/`: the feed's log entries. */
  readonly entries: number;
}

/** Lists the whole store and reads every file (16 reads in flight) to sum their sizes. */
export async function storeStats(fs: FileSystem): Promise<StoreStats> {
  const names: string[] = [];
  for await (const name of fs.list('')) names.push(name);
  const entries = names.filter((n) => n.startsWith('.evsrc/feed/') && n.endsWith('.entry')).length;
  let bytes = 0;
  let next = 0;
  const reader = async () => {
    while (next < names.length) {
      const name = names[next++] as string;
      const read = await fs.read(name); // not `bytes += await …`: that reads `bytes` before the await
      bytes += read?.byteLength ?? 0;
    }
  };
  await Promise.all(Array.from({ length: 16 }, reader));
  return { files: names.length, bytes, entries };
}
