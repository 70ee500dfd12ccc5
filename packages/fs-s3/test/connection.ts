/** Test helpers: clients and file systems on the radosgw that `global-setup.ts` started. */
import { randomUUID } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import type { FileSystem } from '@evsrc/core';
import { S3FileSystem, type S3FileSystemOptions } from '@evsrc/fs-s3';
import { s3ClientConfig } from '@evsrc/test-servers';
import { describe, inject } from 'vitest';
import type { RadosgwConnection } from './global-setup.js';

const provided = inject('radosgw');

/** The radosgw connection, or `undefined` when its tests are skipped. */
export const radosgw: RadosgwConnection | undefined = 'skipped' in provided ? undefined : provided;

/** `describe`, or `describe.skip` with the reason when radosgw is not installed. */
export function describeWithRadosgw(name: string, body: (connection: RadosgwConnection) => void): void {
  if (radosgw) {
    describe(name, () => body(radosgw as RadosgwConnection));
    return;
  }
  // Register the tests anyway (with a connection they never use), so the report counts them as skipped.
  const unused: RadosgwConnection = { endpoint: '', region: '', accessKeyId: '', secretAccessKey: '', bucket: '' };
  describe.skip(`${name} (${'skipped' in provided ? provided.skipped : 'skipped'})`, () => body(unused));
}

/** A new, independent `S3Client` (its own connections) on the radosgw. */
export function newClient(
  c: RadosgwConnection,
  extra: Partial<ConstructorParameters<typeof S3Client>[0]> = {},
): S3Client {
  return new S3Client({ ...clientConfig(c), ...extra });
}

/** The client settings of the radosgw: its endpoint, path-style addressing, the test user's keys. */
export const clientConfig = (c: RadosgwConnection) => s3ClientConfig(c);

/** A key prefix no other test uses. */
export function freshPrefix(): string {
  return `test-${randomUUID()}/`;
}

/** An S3FileSystem on a fresh key prefix, with its own client. */
export function openFileSystem(c: RadosgwConnection, options: Partial<S3FileSystemOptions> = {}): S3FileSystem {
  return new S3FileSystem({ bucket: c.bucket, prefix: freshPrefix(), clientConfig: clientConfig(c), ...options });
}

/** A second file system on the same bucket and prefix as `fs`, with a separately constructed client. */
export function secondClient(c: RadosgwConnection, fs: FileSystem): S3FileSystem {
  return new S3FileSystem({ bucket: c.bucket, prefix: (fs as S3FileSystem).keyPrefix, client: newClient(c) });
}

/** Deletes everything under the file system's prefix, then closes it (and a client it was given). */
export async function disposeFileSystem(fs: FileSystem): Promise<void> {
  const s3 = fs as S3FileSystem;
  const names: string[] = [];
  for await (const name of s3.list('')) names.push(name);
  await s3.deleteMany(names);
  await s3.close();
  s3.client.destroy();
}
