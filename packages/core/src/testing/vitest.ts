/**
 * `@evsrc/core/testing/vitest`: the conformance suites every `FileSystem` adapter runs —
 * evsrc's own and yours — under vitest (needs `vitest` and `fast-check` installed).
 *
 * @example
 * ```ts
 * import { describeFileSystemContract, describeRepositoryContract } from '@evsrc/core/testing/vitest';
 * describeFileSystemContract('my store', { create: () => new MyFileSystem() });
 * describeRepositoryContract('my store', { create: () => new MyFileSystem() });
 * ```
 *
 * @packageDocumentation
 */
export { describeFeedContract, type FeedContractOptions } from './feed-contract/index.js';
export { describeFileSystemContract, type FileSystemContractOptions } from './file-system-contract.js';
export { hostileIds, isUnstorableId } from './hostile-ids.js';
export { describeRepositoryContract, type RepositoryContractOptions } from './repository-contract.js';
