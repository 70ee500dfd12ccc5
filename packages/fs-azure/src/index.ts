/**
 * `@evsrc/fs-azure`: the Azure Blob Storage {@link FileSystem} for evsrc. Atomic create with
 * `If-None-Match: *`, atomic replace, ordered paged listing.
 *
 * @packageDocumentation
 */
import type { FileSystem } from '@evsrc/core';
import { AzureFileSystem } from './azure-file-system.js';
import type { AzureFileSystemOptions } from './options.js';

export { AzureFileSystem } from './azure-file-system.js';
export type {
  AzureCommonOptions,
  AzureConnectionStringOptions,
  AzureContainerClientOptions,
  AzureFileSystemOptions,
  AzureServiceClientOptions,
} from './options.js';

/**
 * Opens a store in an Azure Blob Storage container (see {@link AzureFileSystem}).
 *
 * @example
 * ```ts
 * const fs = createAzureFileSystem({ connectionString: process.env.AZURE_STORAGE_CONNECTION_STRING!, container: 'events' });
 * ```
 */
export function createAzureFileSystem(options: AzureFileSystemOptions): AzureFileSystem & FileSystem {
  return new AzureFileSystem(options);
}
export { CONNECTION_STRING_ENV, type FromUrlOptions, fromUrl } from './url.js';
