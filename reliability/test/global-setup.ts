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
  const [redis, azurite, s3] = await Promise.all([startRedis(), startAzurite(), startS3('evsrc-reliability')]);
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
