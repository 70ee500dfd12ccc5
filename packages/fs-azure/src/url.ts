import { BlobServiceClient } from '@azure/storage-blob';
import { ConfigurationError } from '@evsrc/core';
import { readUrlParams } from '@evsrc/core/adapter';
import { AzureFileSystem } from './azure-file-system.js';

/** The environment variable holding the connection string for `azure://` URLs. */
export const CONNECTION_STRING_ENV = 'AZURE_STORAGE_CONNECTION_STRING';

/** Options of {@link fromUrl}. */
export interface FromUrlOptions {
  /** Where `AZURE_STORAGE_CONNECTION_STRING` is read from (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Opens an Azure Blob store from a URL: `azure://{container}/{prefix}`.
 *
 * - Without `account`: the connection string comes from `AZURE_STORAGE_CONNECTION_STRING`.
 * - With `?account=https://{account}.blob.core.windows.net`: a token credential,
 *   `DefaultAzureCredential` from `@azure/identity` (install it; environment, workload or
 *   managed identity, Azure CLI …).
 *
 * Other parameters: `readConcurrency`, `createContainer`.
 * @throws {ConfigurationError} naming what is missing; never echoes the connection string.
 */
export async function fromUrl(url: URL, options: FromUrlOptions = {}): Promise<AzureFileSystem> {
  if (url.protocol !== 'azure:') throw new ConfigurationError(`@evsrc/fs-azure opens azure: URLs, not ${url.protocol}`);
  const container = url.hostname;
  if (!container) throw new ConfigurationError('An azure: store URL names its container: azure://{container}/{prefix}');
  const prefix = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  const params = readUrlParams(url, { account: 'string', readConcurrency: 'integer', createContainer: 'boolean' });
  const common = {
    ...(prefix ? { prefix } : {}),
    ...(params.readConcurrency ? { readConcurrency: params.readConcurrency } : {}),
    ...(params.createContainer === undefined ? {} : { createContainer: params.createContainer }),
  };
  if (params.account) {
    const serviceClient = new BlobServiceClient(accountUrl(params.account), await tokenCredential());
    return new AzureFileSystem({ serviceClient, container, ...common });
  }
  const connectionString = (options.env ?? process.env)[CONNECTION_STRING_ENV];
  if (!connectionString) {
    throw new ConfigurationError(
      `An azure: store URL needs ${CONNECTION_STRING_ENV} to be set, or ?account=https://{account}.blob.core.windows.net for a token credential`,
    );
  }
  return new AzureFileSystem({ connectionString, container, ...common });
}

function accountUrl(account: string): string {
  try {
    const u = new URL(account);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
    return u.origin;
  } catch {
    throw new ConfigurationError(
      'Parameter "account" must be the account URL, e.g. https://myaccount.blob.core.windows.net',
    );
  }
}

async function tokenCredential() {
  try {
    const identity = await import('@azure/identity');
    return new identity.DefaultAzureCredential();
  } catch (error) {
    if ((error as { code?: string })?.code === 'ERR_MODULE_NOT_FOUND') {
      throw new ConfigurationError(
        'azure: URLs with ?account= need the package @azure/identity: npm install @azure/identity',
      );
    }
    throw error;
  }
}
