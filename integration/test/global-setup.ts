import { type S3Connection, startAzurite, startRedis, startS3 } from '@evsrc/test-servers';
import type { TestProject } from 'vitest/node';

/** The servers every backend's integration tests use, or why one is missing. */
export interface Servers {
  readonly redisUrl?: string;
  readonly azureConnectionString?: string;
  readonly s3?: S3Connection;
  /** Why a server is missing (locally only: under CI a missing server fails the run). */
  readonly skipped: string[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    servers: Servers;
  }
}

/** Starts redis-server, Azurite and radosgw once for the integration tests. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [redis, azurite, s3] = await Promise.all([startRedis(), startAzurite(), startS3('evsrc-integration')]);
  const skipped: string[] = [];
  const servers: { -readonly [K in keyof Servers]: Servers[K] } = { skipped };
  if ('skip' in redis) skipped.push(redis.skip);
  else servers.redisUrl = redis.url;
  if ('skip' in azurite) skipped.push(azurite.skip);
  else servers.azureConnectionString = azurite.connectionString;
  if ('skip' in s3) skipped.push(s3.skip);
  else {
    const { stop: _, ...connection } = s3;
    servers.s3 = connection;
  }
  project.provide('servers', servers);
  return async () => {
    await Promise.all([redis, azurite, s3].map((s) => ('stop' in s ? s.stop() : undefined)));
  };
}
