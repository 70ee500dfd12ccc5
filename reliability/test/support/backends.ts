import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Connection } from '@evsrc/test-servers';
import { inject } from 'vitest';
import type { StoreSpec } from './stores.mjs';

/** The shared servers started by the global setup. */
export const servers = inject('reliabilityServers');

/** A fresh, empty store of each backend that can be shared across processes, or why it is missing. */
export async function sharedStores(): Promise<({ name: string; spec: StoreSpec } | { name: string; skip: string })[]> {
  const run = randomUUID().slice(0, 8);
  const { redisUrl, azureConnectionString, s3, skipped } = servers;
  return [
    { name: 'local disk', spec: { kind: 'local', root: await mkdtemp(join(tmpdir(), 'evsrc-race-')) } },
    redisUrl
      ? { name: 'Redis', spec: { kind: 'redis', url: redisUrl, prefix: `race-${run}:` } }
      : { name: 'Redis', skip: skipped.redis ?? 'no redis-server' },
    azureConnectionString
      ? {
          name: 'Azure (Azurite)',
          spec: { kind: 'azure', connectionString: azureConnectionString, container: `race-${run}`, prefix: 'store' },
        }
      : { name: 'Azure (Azurite)', skip: skipped.azure ?? 'no Azurite' },
    s3
      ? { name: 'S3 (radosgw)', spec: s3Spec(s3, `race-${run}`) }
      : { name: 'S3 (radosgw)', skip: skipped.s3 ?? 'no radosgw' },
  ];
}

/** A store under `prefix` in the test bucket. */
export function s3Spec(s3: S3Connection, prefix: string): StoreSpec {
  const { endpoint, region, bucket, accessKeyId, secretAccessKey } = s3;
  return { kind: 's3', endpoint, region, bucket, prefix, accessKeyId, secretAccessKey };
}
