import { createAzureFileSystem } from '@evsrc/fs-azure';

const connectionString = process.env.AZURE_STORAGE_CONNECTION_STRING;
if (!connectionString) throw new Error('Set AZURE_STORAGE_CONNECTION_STRING');
const fileSystem = createAzureFileSystem({ connectionString, container: 'events', prefix: 'app' });
// Or any credential (Entra ID via @azure/identity): pass a ContainerClient or BlobServiceClient you built.
await fileSystem.replace('hello.txt', new TextEncoder().encode('hi'));
console.log(new TextDecoder().decode(await fileSystem.read('hello.txt'))); // hi
