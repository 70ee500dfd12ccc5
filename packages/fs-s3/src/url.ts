import { ConfigurationError } from '@evsrc/core';
import { readUrlParams } from '@evsrc/core/adapter';
import { S3FileSystem } from './s3-file-system.js';

/**
 * Opens an S3 store from a URL: `s3://{bucket}/{prefix}`. Credentials come from the AWS
 * SDK's default chain (environment, shared profiles, instance or task roles).
 *
 * Parameters: `region`, `endpoint` (an S3-compatible service, e.g. `http://127.0.0.1:9000`),
 * `pathStyle` (true for MinIO, Ceph and most self-hosted services), `readConcurrency`,
 * `maxAttempts`, `verifyConditionalWrites` (default true).
 * @throws {ConfigurationError} for another scheme, no bucket or an unknown parameter.
 */
export function fromUrl(url: URL): S3FileSystem {
  if (url.protocol !== 's3:') throw new ConfigurationError(`@evsrc/fs-s3 opens s3: URLs, not ${url.protocol}`);
  const bucket = url.hostname;
  if (!bucket) throw new ConfigurationError('An s3: store URL names its bucket: s3://{bucket}/{prefix}');
  const prefix = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  const params = readUrlParams(url, {
    region: 'string',
    endpoint: 'string',
    pathStyle: 'boolean',
    readConcurrency: 'integer',
    maxAttempts: 'integer',
    verifyConditionalWrites: 'boolean',
  });
  return new S3FileSystem({
    bucket,
    ...(prefix ? { prefix } : {}),
    clientConfig: {
      ...(params.region ? { region: params.region } : {}),
      ...(params.endpoint ? { endpoint: params.endpoint } : {}),
      ...(params.pathStyle !== undefined ? { forcePathStyle: params.pathStyle } : {}),
    },
    ...(params.maxAttempts ? { maxAttempts: params.maxAttempts } : {}),
    ...(params.readConcurrency ? { readConcurrency: params.readConcurrency } : {}),
    ...(params.verifyConditionalWrites !== undefined
      ? { verifyConditionalWrites: params.verifyConditionalWrites }
      : {}),
  });
}
