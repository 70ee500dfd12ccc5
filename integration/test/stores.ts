import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';

const servers = inject('servers');

/** A store of one backend: its URL (fresh, empty) and the environment its credentials need. */
export interface TestStore {
  readonly name: string;
  readonly url: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Every backend's store, or the reason it is missing (`describe.skip` locally; CI fails in setup). */
export async function stores(): Promise<(TestStore | { name: string; skip: string })[]> {
  const id = randomUUID().slice(0, 8);
  const local = await mkdtemp(join(tmpdir(), 'evsrc-int-'));
  const { redisUrl, azureConnectionString, s3 } = servers;
  return [
    { name: 'local', url: local, env: {} },
    redisUrl
      ? { name: 'redis', url: `${redisUrl}?prefix=it-${id}`, env: {} }
      : { name: 'redis', skip: 'no redis-server' },
    azureConnectionString
      ? {
          name: 'azure',
          url: `azure://it-${id}/store`,
          env: { AZURE_STORAGE_CONNECTION_STRING: azureConnectionString },
        }
      : { name: 'azure', skip: 'no Azurite' },
    s3
      ? {
          name: 's3',
          url: `s3://${s3.bucket}/it-${id}?endpoint=${encodeURIComponent(s3.endpoint)}&pathStyle=true&region=${s3.region}`,
          env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
        }
      : { name: 's3', skip: 'no radosgw' },
  ];
}

/** The names of servers that are missing. */
export const skipped = servers.skipped;
