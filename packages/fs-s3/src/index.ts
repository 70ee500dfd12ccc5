/**
 * `@evsrc/fs-s3`: the S3 {@link FileSystem} for evsrc — AWS S3 and S3-compatible services
 * that honour `If-None-Match: *` (Ceph radosgw, MinIO, Cloudflare R2, ...).
 *
 * @packageDocumentation
 */
import type { FileSystem } from '@evsrc/core';
import type { S3FileSystemOptions } from './options.js';
import { S3FileSystem } from './s3-file-system.js';

export {
  type ConditionalWriteProbeTarget,
  PROBE_FOLDER,
  probeConditionalWrites,
} from './conditional-write-probe.js';
export { DEFAULT_READ_CONCURRENCY, type S3FileSystemOptions } from './options.js';
export { MAX_KEY_BYTES, MAX_PAGE, S3FileSystem } from './s3-file-system.js';

/**
 * Opens a store in an S3 bucket (see {@link S3FileSystem}).
 *
 * @example
 * ```ts
 * const fileSystem = createS3FileSystem({ bucket: 'my-events', prefix: 'bank', clientConfig: { region: 'eu-west-1' } });
 * ```
 */
export function createS3FileSystem(options: S3FileSystemOptions): S3FileSystem & FileSystem {
  return new S3FileSystem(options);
}
export { fromUrl } from './url.js';
