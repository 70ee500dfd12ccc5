/**
 * Reading the errors of `@azure/storage-blob` (a `RestError` with an HTTP status and the
 * service's `x-ms-error-code`) without depending on its class, so that two copies of the
 * SDK in one application still work.
 *
 * @module
 */

/** The HTTP status of a failed Blob service call, if it got that far. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The Blob service's error code (`BlobAlreadyExists`, `ContainerNotFound`, ...), if any. */
export function serviceCodeOf(error: unknown): string | undefined {
  const e = error as { code?: unknown; details?: { errorCode?: unknown } } | null;
  const fromDetails = e?.details?.errorCode;
  if (typeof fromDetails === 'string') return fromDetails;
  return typeof e?.code === 'string' ? e.code : undefined;
}

/** A 404: the blob or its container does not exist. */
export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404;
}

/** A 404 that says the container itself is missing (not only the blob). */
export function isContainerNotFound(error: unknown): boolean {
  return statusOf(error) === 404 && serviceCodeOf(error) === 'ContainerNotFound';
}

/**
 * What an upload with `If-None-Match: *` answers when the name is taken: 409
 * `BlobAlreadyExists`, or 412 `ConditionNotMet` (any 412 means the condition, hence the
 * existence check, failed). Other 409s (a container being deleted, a lease) are failures.
 */
export function isAlreadyExists(error: unknown): boolean {
  const status = statusOf(error);
  if (status === 412) return true;
  if (status !== 409) return false;
  const code = serviceCodeOf(error);
  return code === undefined || code === 'BlobAlreadyExists';
}
