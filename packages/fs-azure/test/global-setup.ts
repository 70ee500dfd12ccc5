import { startAzurite } from '@evsrc/test-servers';
import type { TestProject } from 'vitest/node';

/** What the tests get: Azurite's connection string, or why its tests are skipped. */
export type AzuriteContext = { connectionString: string } | { skip: string };

declare module 'vitest' {
  export interface ProvidedContext {
    azurite: AzuriteContext;
  }
}

/** Starts Azurite (in memory, free loopback port) for the whole fs-azure test run. */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const server = await startAzurite();
  if ('skip' in server) {
    project.provide('azurite', { skip: server.skip });
    return undefined;
  }
  project.provide('azurite', { connectionString: server.connectionString });
  return () => server.stop();
}
