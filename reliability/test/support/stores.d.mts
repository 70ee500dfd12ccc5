import type { FileSystem } from '@evsrc/core';
import type { AzureConnectionStringOptions } from '@evsrc/fs-azure';
import type { RedisFileSystemOptions } from '@evsrc/fs-redis';
import type { S3FileSystemOptions } from '@evsrc/fs-s3';

type S3ClientConfig = NonNullable<S3FileSystemOptions['clientConfig']>;

/** A store, described in plain data (it is passed to child processes as JSON). */
export type StoreSpec =
  | { readonly kind: 'local'; readonly root: string; readonly durable?: boolean }
  | {
      readonly kind: 'redis';
      readonly url: string;
      readonly prefix: string;
      readonly redisOptions?: RedisFileSystemOptions['redisOptions'];
    }
  | {
      readonly kind: 'azure';
      readonly connectionString: string;
      readonly container: string;
      readonly prefix: string;
      readonly retryOptions?: AzureConnectionStringOptions['retryOptions'];
      readonly operationTimeoutMs?: number;
    }
  | {
      readonly kind: 's3';
      readonly endpoint: string;
      readonly region: string;
      readonly bucket: string;
      readonly prefix: string;
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      readonly maxAttempts?: number;
      readonly requestHandler?: S3ClientConfig['requestHandler'];
    };

/** The file system a store description names. */
export declare function openStore(spec: StoreSpec): FileSystem;
/** Releases the store's connections (a no-op for local disk). */
export declare function closeStore(fileSystem: FileSystem): Promise<void>;
