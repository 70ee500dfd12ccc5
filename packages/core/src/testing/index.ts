/**
 * `@evsrc/core/testing`: conformance suites any `FileSystem` adapter runs under vitest.
 *
 * @packageDocumentation
 */
export { describeFileSystemContract, type FileSystemContractOptions } from './file-system-contract.js';
export { describeRepositoryContract, type RepositoryContractOptions } from './repository-contract.js';
