/**
 * `@evsrc/fs-local`: the local-disk {@link FileSystem} for evsrc, the default store.
 *
 * @packageDocumentation
 */
import type { FileSystem } from '@evsrc/core';
import { LocalFileSystem, type LocalFileSystemOptions } from './local-file-system.js';

export { LocalFileSystem, type LocalFileSystemOptions, TEMPORARY_FOLDER } from './local-file-system.js';

/** Opens a store in a local folder (see {@link LocalFileSystem}). */
export function createLocalFileSystem(options: LocalFileSystemOptions | string): LocalFileSystem & FileSystem {
  return new LocalFileSystem(options);
}
export { fromUrl } from './url.js';
