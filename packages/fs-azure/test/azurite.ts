/**
 * What the tests share: the Azurite connection string from the global setup, fresh
 * container names and prefixes, and `describe` that skips (with the reason) when Azurite
 * is not installed.
 */
import { randomUUID } from 'node:crypto';
import { BlobServiceClient, ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { collect } from '@evsrc/core/testing';
import { describe, inject } from 'vitest';

const context = inject('azurite');

/** `describe` when Azurite runs, else `describe.skip` named with how to install it. */
export function describeAzurite(name: string, body: () => void): void {
  if ('skip' in context) describe.skip(`${name}: ${context.skip}`, body);
  else describe(name, body);
}

/** The connection string of the test run's Azurite. */
export function connectionString(): string {
  if ('skip' in context) throw new Error(context.skip);
  return context.connectionString;
}

/** A container name no other test uses (it does not exist yet). */
export function freshContainer(): string {
  return `t-${randomUUID()}`;
}

/** A store prefix no other test uses. */
export function freshPrefix(): string {
  return `run-${randomUUID()}/`;
}

/** A client built independently of the adapter, for checking what is really stored. */
export function rawService(cs = connectionString()): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(cs);
}

/** A `ContainerClient` built from URL and key, the way a user with their own credential would. */
export function containerClientWithKey(container: string, cs = connectionString()): ContainerClient {
  const field = (name: string) => {
    const match = cs.match(new RegExp(`${name}=([^;]+)`));
    if (!match?.[1]) throw new Error(`no ${name} in the connection string`);
    return match[1];
  };
  const credential = new StorageSharedKeyCredential(field('AccountName'), field('AccountKey'));
  return new ContainerClient(`${field('BlobEndpoint')}/${container}`, credential);
}

/** Every blob name in a container, as the service lists them. */
export async function blobNames(container: ContainerClient, prefix?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const blob of container.listBlobsFlat(prefix ? { prefix } : {})) out.push(blob.name);
  return out;
}

/** Collects an async iterable (from the testing kit; the tests import it from here). */
export { collect };
