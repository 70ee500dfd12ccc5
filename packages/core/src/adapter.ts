/**
 * `@evsrc/core/adapter`: what someone writing a {@link FileSystem} adapter needs, beyond the
 * port itself: the naming rules and their order, the shared opening of `list`, the read
 * limits, the streaming reader, the store-URL parameters for `fromUrl`, and the feed folder
 * an adapter's `watch`/`notify` may want to know.
 *
 * **Stable**, like `@evsrc/core`: covered by semver (`packages/core/api.md` lists it;
 * `test/public-api.test.ts` guards it). The port types are re-exported here from
 * `@evsrc/core`, so that an adapter can import everything it implements from one place;
 * errors (`InvalidPathError`, `FileExistsError`, `MissingPredecessorError`, `StorageError`,
 * ...) are in `@evsrc/core`. The conformance suites every adapter runs are in
 * `@evsrc/core/testing/vitest` (`describeFileSystemContract`).
 *
 * @example
 * ```ts
 * import { assertValidPath, type FileSystem, openListing } from '@evsrc/core/adapter';
 * ```
 *
 * @packageDocumentation
 */

// Store-URL parameters, for an adapter's `fromUrl`
export { readUrlParams, type UrlParamKind, type UrlParams } from './config/url-params.js';
// The folder of the feed's log, for adapters whose `watch`/`notify` treat it specially
export { FEED_FOLDER } from './feed/layout.js';
// The FileSystem port (also in `@evsrc/core`), and the head of a read
export {
  type CreateOptions,
  type FileSystem,
  HEAD_CHECK_ABOVE,
  type ListOptions,
  READ_HEAD_BYTES,
  type ReadOptions,
  type ReplaceOptions,
} from './storage/file-system.js';
// Listing: the opening every adapter's `list` shares
export { type Listing, openListing } from './storage/list-options.js';
// Names: the naming rules and the order of a listing
export { assertValidPath, assertValidPrefix, compareNames, MAX_PATH_BYTES } from './storage/paths.js';
// Read limits and reading a stream
export { checkReadSize, MAX_READ_BYTES, readStreamBody, STREAM_HEAD_ABOVE } from './storage/read-limits.js';
