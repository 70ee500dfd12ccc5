import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfigurationError } from '@evsrc/core';
import { assertValidPrefix } from '@evsrc/core/adapter';

/** Options of {@link S3FileSystem}. */
export interface S3FileSystemOptions {
  /** The bucket that holds the store (it must exist). */
  bucket: string;
  /**
   * Prepended to every file name to form the object key, so that several stores can share
   * a bucket (default: none). A `/` is added unless it ends with one: `'app'` stores
   * `a/b` as `app/a/b`.
   */
  prefix?: string;
  /**
   * An `S3Client` you built (credentials, region, endpoint, path style, retries...). It
   * stays yours: `close()` does not destroy it. Give either this or {@link clientConfig}.
   */
  client?: S3Client;
  /**
   * Settings for the `S3Client` the file system builds (and destroys on `close()`) when no
   * {@link client} is given. Without either, the SDK's defaults apply (region and
   * credentials from the environment, AWS endpoints).
   */
  clientConfig?: S3ClientConfig;
  /**
   * Attempts per request, first one included, of the SDK's retry strategy (which retries
   * throttling, 5xx answers and network errors). Only with {@link clientConfig}: a client
   * you built keeps its own setting. SDK default: 3.
   */
  maxAttempts?: number;
  /** The SDK's retry mode, `'standard'` (the SDK default) or `'adaptive'`. Only with {@link clientConfig}. */
  retryMode?: 'standard' | 'adaptive';
  /** Batch files the repository reads in parallel while loading an aggregate (default 16). */
  readConcurrency?: number;
  /**
   * Before the first `create`, check once that the service honours `If-None-Match: *`
   * (default `true`), by writing a throw-away object twice; refuse to create anything with
   * a {@link ConfigurationError} if the second write was not rejected. Turn it off only for
   * a service known to support conditional writes, where you cannot afford the three
   * extra requests.
   */
  verifyConditionalWrites?: boolean;
}

/** {@link S3FileSystemOptions} checked and with their defaults applied. */
export interface ResolvedS3Options {
  readonly bucket: string;
  /** The key prefix, empty or ending with `/`. */
  readonly keyPrefix: string;
  readonly readConcurrency: number;
  readonly verifyConditionalWrites: boolean;
}

/** Default of {@link S3FileSystemOptions.readConcurrency}. */
export const DEFAULT_READ_CONCURRENCY = 16;

/**
 * Checks the options and applies their defaults.
 * @throws {ConfigurationError} naming the offending option.
 */
export function resolveOptions(options: S3FileSystemOptions): ResolvedS3Options {
  if (typeof options !== 'object' || options === null)
    throw new ConfigurationError('S3FileSystem: options are required');
  const { bucket, client, clientConfig } = options;
  if (typeof bucket !== 'string' || bucket.length === 0) {
    throw new ConfigurationError('S3FileSystem: `bucket` must be a non-empty string');
  }
  if (client !== undefined && clientConfig !== undefined) {
    throw new ConfigurationError('S3FileSystem: give either `client` or `clientConfig`, not both');
  }
  if (client !== undefined && (options.maxAttempts !== undefined || options.retryMode !== undefined)) {
    throw new ConfigurationError(
      'S3FileSystem: `maxAttempts` and `retryMode` apply to a client the file system builds; set them on your own `client` instead',
    );
  }
  if (options.maxAttempts !== undefined && !(Number.isSafeInteger(options.maxAttempts) && options.maxAttempts >= 1)) {
    throw new ConfigurationError('S3FileSystem: `maxAttempts` must be an integer of at least 1');
  }
  const readConcurrency = options.readConcurrency ?? DEFAULT_READ_CONCURRENCY;
  if (!(Number.isSafeInteger(readConcurrency) && readConcurrency >= 1)) {
    throw new ConfigurationError('S3FileSystem: `readConcurrency` must be an integer of at least 1');
  }
  return {
    bucket,
    keyPrefix: resolvePrefix(options.prefix ?? ''),
    readConcurrency,
    verifyConditionalWrites: options.verifyConditionalWrites ?? true,
  };
}

function resolvePrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new ConfigurationError('S3FileSystem: `prefix` must be a string');
  if (prefix === '') return '';
  try {
    assertValidPrefix(prefix);
  } catch (error) {
    throw new ConfigurationError(
      `S3FileSystem: invalid \`prefix\` ${JSON.stringify(prefix)}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** The `S3ClientConfig` for a client the file system builds: `clientConfig` plus the retry options. */
export function clientConfigOf(options: S3FileSystemOptions): S3ClientConfig {
  return {
    ...options.clientConfig,
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.retryMode !== undefined ? { retryMode: options.retryMode } : {}),
  };
}
