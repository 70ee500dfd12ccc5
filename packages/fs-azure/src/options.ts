import {
  BlobServiceClient,
  type ContainerClient,
  type StoragePipelineOptions,
  type StorageRetryOptions,
} from '@azure/storage-blob';
import { ConfigurationError, isEvsrcError } from '@evsrc/core';
import { assertValidPrefix } from '@evsrc/core/adapter';

/** Settings shared by every way of pointing {@link AzureFileSystem} at a container. */
export interface AzureCommonOptions {
  /**
   * A folder inside the container that holds the store (default: the container root).
   * A blob's name is this prefix followed by the file's path. A missing trailing `/` is
   * added: `"tenant-a"` and `"tenant-a/"` are the same store.
   */
  prefix?: string;
  /** Batch files the repository reads in parallel when it loads an aggregate (default 16). */
  readConcurrency?: number;
  /**
   * Create the container when a write finds it missing (default `true`). The check costs
   * nothing until then, so credentials scoped to one container (a SAS) work either way.
   */
  createContainer?: boolean;
  /**
   * Send the `startFrom` parameter of List Blobs (service version 2026-02-06) when a
   * listing starts after a name (default `true`). Services that ignore it are handled
   * correctly either way; turn it off only for a service that rejects it.
   */
  listStartFrom?: boolean;
  /**
   * Files up to this many bytes are written with one Put Blob; larger ones are staged as
   * blocks and committed with one Put Block List (default and maximum: 256 MiB).
   * Both are atomic.
   */
  maxSingleShotSize?: number;
  /** Blocks uploaded in parallel for files above `maxSingleShotSize` (default 4). */
  uploadConcurrency?: number;
  /**
   * The longest one call may take, in ms, the SDK's retries included (for a listing: each
   * page); then it is aborted and fails with a `StorageError`. Default: no limit.
   * The SDK's `retryOptions.tryTimeoutInMs` does not bound a call by itself: it only asks
   * the service to give up (the `timeout` parameter), so a service that hangs or a network
   * that drops packets keeps a call waiting for as long as the connection stays open.
   */
  operationTimeoutMs?: number;
}

/** Use a `ContainerClient` you built (any credential, including Entra ID via `@azure/identity`). */
export interface AzureContainerClientOptions extends AzureCommonOptions {
  containerClient: ContainerClient;
}

/** Use a `BlobServiceClient` you built, and one of its containers. */
export interface AzureServiceClientOptions extends AzureCommonOptions {
  serviceClient: BlobServiceClient;
  /** The container's name. */
  container: string;
}

/** Let the adapter build the client from a storage connection string. */
export interface AzureConnectionStringOptions extends AzureCommonOptions {
  /** An account connection string (`AccountName=...;AccountKey=...` or a SAS connection string). */
  connectionString: string;
  /** The container's name. */
  container: string;
  /**
   * How the SDK retries transient failures (timeouts, 5xx, throttling): attempts, delays,
   * per-try timeout. Default: the SDK's exponential policy with 4 tries.
   */
  retryOptions?: StorageRetryOptions;
  /** Other settings of the SDK's HTTP pipeline (proxy, keep-alive, user agent, HTTP client). */
  pipelineOptions?: Omit<StoragePipelineOptions, 'retryOptions'>;
}

/** Options of {@link AzureFileSystem}: where the container is, plus {@link AzureCommonOptions}. */
export type AzureFileSystemOptions =
  | AzureContainerClientOptions
  | AzureServiceClientOptions
  | AzureConnectionStringOptions;

/** The options of {@link AzureFileSystem} after defaults and checks. */
export interface ResolvedOptions {
  readonly container: ContainerClient;
  readonly prefix: string;
  readonly readConcurrency: number;
  readonly createContainer: boolean;
  readonly listStartFrom: boolean;
  readonly maxSingleShotSize: number;
  readonly uploadConcurrency: number;
  readonly operationTimeoutMs: number | undefined;
}

/** The largest single Put Blob the SDK's upload helper makes. */
export const MAX_SINGLE_SHOT_SIZE = 256 * 1024 * 1024;

/**
 * Applies defaults, checks the settings and builds the container client when given a
 * connection string.
 * @throws {ConfigurationError} for missing or invalid settings.
 */
export function resolveOptions(options: AzureFileSystemOptions): ResolvedOptions {
  return {
    container: containerOf(options),
    prefix: normalisePrefix(options.prefix),
    readConcurrency: positiveInteger('readConcurrency', options.readConcurrency, 16),
    createContainer: options.createContainer ?? true,
    listStartFrom: options.listStartFrom ?? true,
    maxSingleShotSize: Math.min(
      positiveInteger('maxSingleShotSize', options.maxSingleShotSize, MAX_SINGLE_SHOT_SIZE),
      MAX_SINGLE_SHOT_SIZE,
    ),
    uploadConcurrency: positiveInteger('uploadConcurrency', options.uploadConcurrency, 4),
    operationTimeoutMs:
      options.operationTimeoutMs === undefined
        ? undefined
        : positiveInteger('operationTimeoutMs', options.operationTimeoutMs, 0),
  };
}

function containerOf(options: AzureFileSystemOptions): ContainerClient {
  if ('containerClient' in options && options.containerClient) return options.containerClient;
  if ('serviceClient' in options && options.serviceClient) {
    return options.serviceClient.getContainerClient(containerName(options.container));
  }
  if ('connectionString' in options && options.connectionString) {
    const service = buildServiceClient(options);
    return service.getContainerClient(containerName(options.container));
  }
  throw new ConfigurationError('AzureFileSystem needs one of containerClient, serviceClient or connectionString');
}

function buildServiceClient(options: AzureConnectionStringOptions): BlobServiceClient {
  try {
    return BlobServiceClient.fromConnectionString(options.connectionString, {
      ...options.pipelineOptions,
      ...(options.retryOptions ? { retryOptions: options.retryOptions } : {}),
    });
  } catch (error) {
    // Never echo the connection string: it holds the account key.
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigurationError(`AzureFileSystem: invalid connection string (${reason})`);
  }
}

function containerName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new ConfigurationError('AzureFileSystem needs a container name');
  return name;
}

function normalisePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  const folder = prefix.endsWith('/') ? prefix : `${prefix}/`;
  try {
    assertValidPrefix(folder);
  } catch (error) {
    if (isEvsrcError(error)) throw new ConfigurationError(`AzureFileSystem: invalid prefix: ${error.message}`);
    throw error;
  }
  return folder;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigurationError(`AzureFileSystem: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
