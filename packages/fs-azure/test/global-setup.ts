/**
 * Starts a private, in-memory Azurite (Blob service only) on a free loopback port for the
 * whole test run, and gives the tests its connection string. Stopped afterwards.
 */
import { fileURLToPath } from 'node:url';
import { hasCommand, missing, startProcess } from '@evsrc/test-servers';
import type { TestProject } from 'vitest/node';

/** The well-known development account of Azurite (public, from Microsoft's Azurite docs). */
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** What the tests get: a connection string, or why they are skipped. */
export type AzuriteContext = { connectionString: string } | { skip: string };

declare module 'vitest' {
  export interface ProvidedContext {
    azurite: AzuriteContext;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const bin = fileURLToPath(new URL('../node_modules/.bin/azurite-blob', import.meta.url));
  if (!hasCommand(bin)) {
    project.provide('azurite', {
      skip: missing('Azurite', 'pnpm install (it is a dev dependency of @evsrc/fs-azure)'),
    });
    return undefined;
  }
  // Port 0: Azurite binds a free port itself (no race with other processes) and prints it.
  const { process: azurite, match } = await startProcess(
    bin,
    [
      '--inMemoryPersistence',
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--skipApiVersionCheck',
      '--disableTelemetry',
      '--silent',
    ],
    { ready: /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/ },
  );
  const endpoint = `http://127.0.0.1:${match[1]}/${ACCOUNT}`;
  project.provide('azurite', {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${endpoint};`,
  });
  return () => azurite.stop();
}
