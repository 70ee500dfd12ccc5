import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError, StorageError } from '@evsrc/core';
import { isConditionFailed, isNotImplemented } from './s3-errors.js';

/**
 * The folder, under the store's key prefix, that holds the throw-away objects of the
 * conditional-write probe. It is reserved: no file name may start with it, and listings
 * never show it.
 */
export const PROBE_FOLDER = '.evsrc-probe';

/** Where {@link probeConditionalWrites} writes. */
export interface ConditionalWriteProbeTarget {
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix of the store, empty or ending with `/`; the probe writes under `{keyPrefix}.evsrc-probe/`. */
  readonly keyPrefix: string;
}

/**
 * Checks that the service honours `PutObject` with `If-None-Match: *`: writes a fresh
 * throw-away object with it twice — the second write must be rejected with 412 (or 409
 * `ConditionalRequestConflict`) — then deletes the object.
 *
 * A service that ignores the header would let two writers "create" the same batch file,
 * the second silently overwriting the first: lost events. evsrc refuses to run on it.
 *
 * @throws {ConfigurationError} if the service ignored the condition or does not implement it.
 * @throws {StorageError} if a request failed for another reason (network, permissions...).
 */
export async function probeConditionalWrites(target: ConditionalWriteProbeTarget): Promise<void> {
  const key = `${target.keyPrefix}${PROBE_FOLDER}/${randomUUID()}`;
  const put = () =>
    target.client.send(
      new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: new Uint8Array(0), IfNoneMatch: '*' }),
    );
  try {
    await request(target, key, put);
    const second = await put().then(
      () => 'accepted' as const,
      (error: unknown) => error,
    );
    if (second === 'accepted') {
      throw new ConfigurationError(
        `S3FileSystem: the S3 service of bucket ${JSON.stringify(target.bucket)} ignored "If-None-Match: *": ` +
          'a second PutObject of an existing key succeeded and overwrote it. evsrc needs conditional writes ' +
          '(create-if-absent) to keep two writers from overwriting each other’s events, so it refuses to write ' +
          'to this service. Use a service that supports them (AWS S3, Ceph radosgw, MinIO, Cloudflare R2, ...).',
      );
    }
    if (!isConditionFailed(second)) throw failure(target, key, second);
  } finally {
    await target.client
      .send(new DeleteObjectCommand({ Bucket: target.bucket, Key: key }))
      .catch(() => undefined /* a leftover probe object is harmless: listings hide it */);
  }
}

async function request(target: ConditionalWriteProbeTarget, key: string, send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (error) {
    throw failure(target, key, error);
  }
}

function failure(target: ConditionalWriteProbeTarget, key: string, error: unknown): Error {
  if (isNotImplemented(error)) {
    return new ConfigurationError(
      `S3FileSystem: the S3 service of bucket ${JSON.stringify(target.bucket)} does not implement ` +
        `"If-None-Match: *" on PutObject (${error instanceof Error ? error.message : String(error)}); ` +
        'evsrc needs it for atomic create.',
    );
  }
  return new StorageError('conditional-write probe', key, error);
}
