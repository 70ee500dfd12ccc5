/**
 * Reading the errors of the AWS SDK: its service exceptions carry the S3 error code as
 * `name` (and `Code`) and the HTTP status in `$metadata.httpStatusCode`.
 *
 * @module
 */

/** The S3 error code of an SDK error (`NoSuchKey`, `PreconditionFailed`, ...), if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { Code?: unknown; name?: unknown };
  if (typeof e.Code === 'string') return e.Code;
  return typeof e.name === 'string' ? e.name : undefined;
}

/** The HTTP status of the answer that made the SDK throw, if there was an answer. */
export function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * True if a conditional write lost: 412 Precondition Failed (the object exists), or 409
 * `ConditionalRequestConflict` (AWS: a concurrent conditional write to the same key won).
 */
export function isConditionFailed(error: unknown): boolean {
  const status = httpStatus(error);
  const code = errorCode(error);
  return status === 412 || code === 'PreconditionFailed' || code === 'ConditionalRequestConflict';
}

/** True if a GET found no object under the key (but not when the bucket is missing). */
export function isNoSuchKey(error: unknown): boolean {
  const code = errorCode(error);
  if (code === 'NoSuchKey') return true;
  return httpStatus(error) === 404 && code !== 'NoSuchBucket';
}

/** True if the service says it does not implement a request or header (501, `NotImplemented`). */
export function isNotImplemented(error: unknown): boolean {
  return httpStatus(error) === 501 || errorCode(error) === 'NotImplemented';
}
