import { startRedis } from '@evsrc/test-servers';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisSkip: string;
  }
}

/** Starts a private redis-server (free loopback port, keeps nothing on disk) for the fs-redis tests. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startRedis();
  if ('skip' in server) {
    project.provide('redisUrl', '');
    project.provide('redisSkip', server.skip);
    return async () => undefined;
  }
  project.provide('redisUrl', server.url);
  project.provide('redisSkip', '');
  return () => server.stop();
}
