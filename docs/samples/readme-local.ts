import { createLocalFileSystem } from '@evsrc/fs-local';

const fileSystem = createLocalFileSystem({ root: './data' }); // { durable: false } to skip fsync
console.log(fileSystem.durable); // true
