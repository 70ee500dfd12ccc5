import type { ContainerClient } from '@azure/storage-blob';
import type { FileSystem } from '@evsrc/core';
import {
  describeFeedContract,
  describeFileSystemContract,
  describeRepositoryContract,
} from '@evsrc/core/testing/vitest';
import { afterAll, beforeAll } from 'vitest';
import { AzureFileSystem } from '../src/index.js';
import {
  connectionString,
  containerClientWithKey,
  describeAzurite,
  freshContainer,
  freshPrefix,
  rawService,
} from './azurite.js';

const azure = (fs: FileSystem) => fs as AzureFileSystem;

describeAzurite('Azure Blob on Azurite', () => {
  // Connection string; a fresh container per test, created by the first write. The second
  // client is built from the connection string again: its own pipeline, the same container.
  const perContainer = {
    create: () => new AzureFileSystem({ connectionString: connectionString(), container: freshContainer() }),
    secondClient: (fs: FileSystem) =>
      new AzureFileSystem({ connectionString: connectionString(), container: azure(fs).container.containerName }),
    dispose: async (fs: FileSystem) => {
      await azure(fs).container.deleteIfExists();
    },
  };
  describeFileSystemContract('Azure Blob (connection string, container per test)', perContainer);

  // One shared container; a fresh prefix per test. The user builds the ContainerClient
  // (here with a shared key; an Entra ID credential plugs in the same way).
  const shared = freshContainer();
  beforeAll(async () => {
    await rawService().getContainerClient(shared).create();
  });
  afterAll(async () => {
    await rawService().getContainerClient(shared).deleteIfExists();
  });
  const perPrefix = {
    create: () => new AzureFileSystem({ containerClient: containerClientWithKey(shared), prefix: freshPrefix() }),
    secondClient: (fs: FileSystem) =>
      new AzureFileSystem({ containerClient: containerClientWithKey(shared), prefix: azure(fs).prefix }),
    dispose: async (fs: FileSystem) => {
      const container: ContainerClient = azure(fs).container;
      for await (const blob of container.listBlobsFlat({ prefix: azure(fs).prefix })) {
        await container.deleteBlob(blob.name).catch(() => undefined);
      }
    },
  };
  describeFileSystemContract('Azure Blob (ContainerClient, prefix per test)', perPrefix);

  // The repository suite, through a BlobServiceClient the user built; a fresh prefix per test.
  describeRepositoryContract('Azure Blob (BlobServiceClient, prefix per test)', {
    create: () => new AzureFileSystem({ serviceClient: rawService(), container: shared, prefix: freshPrefix() }),
    secondClient: (fs: FileSystem) =>
      new AzureFileSystem({ serviceClient: rawService(), container: shared, prefix: azure(fs).prefix }),
    dispose: perPrefix.dispose,
  });
  describeFeedContract('Azure Blob (BlobServiceClient, prefix per test)', {
    create: () => new AzureFileSystem({ serviceClient: rawService(), container: shared, prefix: freshPrefix() }),
    secondClient: (fs: FileSystem) =>
      new AzureFileSystem({ serviceClient: rawService(), container: shared, prefix: azure(fs).prefix }),
    dispose: perPrefix.dispose,
  });
});
