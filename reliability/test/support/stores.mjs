// Opens a store from a plain, serialisable description, so that a test and the child
// processes it starts open the same store. Types: stores.d.mts.
import { createAzureFileSystem } from '@evsrc/fs-azure';
import { createLocalFileSystem } from '@evsrc/fs-local';
import { createRedisFileSystem } from '@evsrc/fs-redis';
import { createS3FileSystem } from '@evsrc/fs-s3';

/** The file system a store description names. */
export function openStore(spec) {
  switch (spec.kind) {
    case 'local':
      return createLocalFileSystem({ root: spec.root, durable: spec.durable ?? true });
    case 'redis':
      return createRedisFileSystem({
        url: spec.url,
        prefix: spec.prefix,
        // The shared test server keeps nothing on disk; that is known, do not warn about it.
        onWarning: () => undefined,
        ...(spec.redisOptions ? { redisOptions: spec.redisOptions } : {}),
      });
    case 'azure':
      return createAzureFileSystem({
        connectionString: spec.connectionString,
        container: spec.container,
        prefix: spec.prefix,
        ...(spec.retryOptions ? { retryOptions: spec.retryOptions } : {}),
        ...(spec.operationTimeoutMs ? { operationTimeoutMs: spec.operationTimeoutMs } : {}),
      });
    case 's3':
      return createS3FileSystem({
        bucket: spec.bucket,
        prefix: spec.prefix,
        clientConfig: {
          endpoint: spec.endpoint,
          region: spec.region,
          forcePathStyle: true,
          credentials: { accessKeyId: spec.accessKeyId, secretAccessKey: spec.secretAccessKey },
          ...(spec.requestHandler ? { requestHandler: spec.requestHandler } : {}),
        },
        ...(spec.maxAttempts ? { maxAttempts: spec.maxAttempts } : {}),
      });
    default:
      throw new Error(`unknown store kind ${JSON.stringify(spec.kind)}`);
  }
}

/** Releases the store's connections (a no-op for local disk). */
export async function closeStore(fileSystem) {
  await fileSystem.close?.();
}
