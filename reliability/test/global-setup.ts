import { type S3Connection, startAzurite, startRedis, startS3 } from '@evsrc/test-servers';
import type { TestProject } from 'vitest/node';

/** The shared servers of the reliability tests, or why one is missing. */
export interface ReliabilityServers {
  readonly redisUrl?: string;
  readonly azureConnectionString?: string;
  readonly s3?: S3Connection;
  /** Why a server is missing, by backend (locally only: under CI a missing server fails the run). */
  readonly skipped: { readonly redis?: string; readonly azure?: string; readonly s3?: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    reliabilityServers: ReliabilityServers;
  }
}

/**
 * Starts redis-server, Azurite and radosgw once, for the tests that only use them. The
 * server-fault tests start private servers of their own (they stop and restart them), on
 * the backends found here.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const wanted = serversWanted();
  const notWanted = (name: string) => Promise.resolve({ skip: `${name}: not in EVSRC_RELIABILITY_SERVERS` } as const);
  const [redis, azurite, s3] = await Promise.all([
    wanted.has('redis') ? startRedis() : notWanted('redis'),
    wanted.has('azure') ? startAzurite() : notWanted('azure'),
    wanted.has('s3') ? startS3('evsrc-reliability') : notWanted('s3'),
  ]);
  const skipped: { redis?: string; azure?: string; s3?: string } = {};
  const servers: { -readonly [K in keyof ReliabilityServers]: ReliabilityServers[K] } = { skipped };
  if ('skip' in redis) skipped.redis = redis.skip;
  else servers.redisUrl = redis.url;
  if ('skip' in azurite) skipped.azure = azurite.skip;
  else servers.azureConnectionString = azurite.connectionString;
  if ('skip' in s3) skipped.s3 = s3.skip;
  else {
    const { stop: _, ...connection } = s3;
    servers.s3 = connection;
  }
  project.provide('reliabilityServers', servers);
  return async () => {
    await Promise.all([redis, azurite, s3].map((s) => ('stop' in s ? s.stop() : undefined)));
  };
}

/**
 * The shared servers to start: all by default; `EVSRC_RELIABILITY_SERVERS=redis` (a comma
 * list of `redis`, `azure`, `s3`, or `none`) starts fewer, for a run of the tests that need
 * no more (the tests of a server not started are skipped).
 */
function serversWanted(): Set<string> {
  const text = process.env.EVSRC_RELIABILITY_SERVERS;
  if (text === undefined || text.trim() === '') return new Set(['redis', 'azure', 's3']);
  const names = new Set(text.split(',').map((n) => n.trim()));
  for (const name of names) {
    if (!['redis', 'azure', 's3', 'none'].includes(name)) {
      throw new Error(`EVSRC_RELIABILITY_SERVERS: unknown server "${name}" (redis, azure, s3 or none)`);
    }
  }
  return names;
}
