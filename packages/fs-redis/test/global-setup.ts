import { freePort, hasCommand, missing, startProcess } from '@evsrc/test-servers';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `redis://127.0.0.1:PORT` of the private test server; `''` when it could not be started. */
    redisUrl: string;
    /** Why the Redis tests are skipped (redis-server missing); `''` when they run. */
    redisSkip: string;
  }
}

/** Starts a private, memory-only redis-server for the test run and stops it afterwards. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!hasCommand('redis-server')) {
    project.provide('redisUrl', '');
    project.provide(
      'redisSkip',
      missing('redis-server', 'sudo apt-get install redis-server (or: bash scripts/install-test-servers.sh)'),
    );
    return async () => undefined;
  }
  const port = await freePort();
  const { process } = await startProcess(
    'redis-server',
    ['--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--port', String(port), '--daemonize', 'no'],
    { ready: /Ready to accept connections/ },
  );
  project.provide('redisUrl', `redis://127.0.0.1:${port}`);
  project.provide('redisSkip', '');
  return () => process.stop();
}
