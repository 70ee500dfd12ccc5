import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { createAzureFileSystem } from '@evsrc/fs-azure';
import { startAzurite } from '@evsrc/test-servers';
import type { RawStore, Started, Target } from './types.js';

async function readAll(body: NodeJS.ReadableStream | undefined): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of body ?? []) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/**
 * The raw baseline on Azure Blob Storage, with the SDK only: create = block blob upload
 * with `If-None-Match: *`; list = List Blobs pages (from `startFrom`); read = Get Blob.
 */
class BlobStore implements RawStore {
  constructor(
    readonly container: ContainerClient,
    readonly prefix: string,
  ) {}

  async create(path: string, bytes: Uint8Array): Promise<void> {
    const blob = this.container.getBlockBlobClient(this.prefix + path);
    await blob.upload(bytes, bytes.byteLength, { conditions: { ifNoneMatch: '*' } });
  }

  async list(folder: string, startAfter?: string): Promise<string[]> {
    const names: string[] = [];
    const from = startAfter === undefined ? {} : { startFrom: this.prefix + startAfter };
    for await (const page of this.container.listBlobsFlat({ prefix: this.prefix + folder, ...from }).byPage()) {
      for (const item of page.segment.blobItems) {
        const name = item.name.slice(this.prefix.length);
        if (startAfter === undefined || name > startAfter) names.push(name);
      }
    }
    return names;
  }

  async read(path: string): Promise<Uint8Array> {
    const response = await this.container.getBlockBlobClient(this.prefix + path).download(0);
    return readAll(response.readableStreamBody);
  }
}

export async function startAzureBackend(): Promise<Started> {
  const server = await startAzurite();
  if ('skip' in server) return server;
  const service = BlobServiceClient.fromConnectionString(server.connectionString);
  return {
    name: 'azure',
    network: true,
    description:
      'Azurite (in-memory) on loopback, a fresh container per run (Azurite slows down as a container fills up). evsrc: @evsrc/fs-azure (its own clients). raw: one ContainerClient — upload with If-None-Match: *; listBlobsFlat; download.',
    async target(label: string): Promise<Target> {
      const name = label.toLowerCase().replace(/[^a-z0-9-]/g, '-');
      const container = service.getContainerClient(name);
      await container.createIfNotExists();
      const fileSystem = createAzureFileSystem({
        connectionString: server.connectionString,
        container: name,
        prefix: 'evsrc',
      });
      const store = new BlobStore(container, 'raw/');
      return {
        fileSystem,
        raw: store,
        setup: { fileSystem, raw: store },
        close: async () => {
          await container.deleteIfExists();
        },
      };
    },
    stop: () => server.stop(),
  };
}
