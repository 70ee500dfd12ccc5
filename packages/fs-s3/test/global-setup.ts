import { type S3Connection, startS3 } from '@evsrc/test-servers';
import type { TestProject } from 'vitest/node';

/** How the tests reach radosgw. */
export type RadosgwConnection = S3Connection;

declare module 'vitest' {
  export interface ProvidedContext {
    radosgw: RadosgwConnection | { skipped: string };
  }
}

/** Starts one radosgw cluster (free loopback ports, temporary folder) with a bucket for the fs-s3 tests. */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const started = Date.now();
  const server = await startS3('evsrc-test');
  if ('skip' in server) {
    project.provide('radosgw', { skipped: server.skip });
    return undefined;
  }
  const { stop, ...connection } = server;
  console.log(`radosgw ready at ${connection.endpoint} after ${Date.now() - started} ms`);
  project.provide('radosgw', connection);
  return stop;
}
