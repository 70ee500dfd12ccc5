// Over 300 lines: the catalogue of every public error class with its code, kept in one place to look them up.
/**
 * Every error evsrc throws is an {@link EvsrcError} with a stable string `code`.
 * Match on the code (or use {@link isEvsrcError}) rather than `instanceof`: codes keep
 * working when two copies of `@evsrc/core` end up in one application.
 *
 * @module
 */

/** The stable codes of every error evsrc throws. */
export const ErrorCode = {
  /** `FileSystem.create` found the name taken. */
  FileExists: 'EVSRC_FILE_EXISTS',
  /** A file name breaks the `FileSystem` naming rules. */
  InvalidPath: 'EVSRC_INVALID_PATH',
  /** The storage backend failed (I/O error, network, permissions, ...); `cause` holds the original. */
  Storage: 'EVSRC_STORAGE',
  /**
   * A file system call took longer than the repository's `operationTimeoutMs`. Found as the
   * `cause` of a {@link StorageError} (so code that retries on `EVSRC_STORAGE` keeps working).
   */
  Timeout: 'EVSRC_TIMEOUT',
  /**
   * `FileSystem.create` was told to create a file only after another one (its predecessor),
   * and that one does not exist: the store lost it, or never had it.
   */
  MissingPredecessor: 'EVSRC_MISSING_PREDECESSOR',
  /** An aggregate id or type name cannot be stored (empty, too long, bad characters). */
  InvalidId: 'EVSRC_INVALID_ID',
  /** Another writer saved the aggregate first. */
  Concurrency: 'EVSRC_CONCURRENCY',
  /** No event and no snapshot exists for the aggregate (or none as of the requested point). */
  AggregateNotFound: 'EVSRC_AGGREGATE_NOT_FOUND',
  /** A stored file is unreadable: bad header, checksum mismatch, undecodable body. */
  CorruptFile: 'EVSRC_CORRUPT_FILE',
  /**
   * A file is larger than the limit the reader was given (`maxFileBytes`,
   * `codec.maxDecompressedBytes`, or what the platform can hold); nothing past the limit was read.
   */
  FileTooLarge: 'EVSRC_FILE_TOO_LARGE',
  /** A stored file's header does not match the place it is stored at. */
  MisplacedFile: 'EVSRC_MISPLACED_FILE',
  /** A file was written by a parser or format version this process does not know. */
  UnsupportedFormat: 'EVSRC_UNSUPPORTED_FORMAT',
  /** The batch files of an aggregate leave a gap or overlap in its versions. */
  StreamIntegrity: 'EVSRC_STREAM_INTEGRITY',
  /**
   * The change feed's log lost entries that a reader had already seen (a position was
   * written again with other batches, or is missing while later ones exist).
   */
  FeedIntegrity: 'EVSRC_FEED_INTEGRITY',
  /** An event type name is not registered for its aggregate type. */
  UnknownEventType: 'EVSRC_UNKNOWN_EVENT_TYPE',
  /** An aggregate class or type name was not registered with the repository. */
  UnknownAggregateType: 'EVSRC_UNKNOWN_AGGREGATE_TYPE',
  /** The repository or a registry was configured wrongly. */
  Configuration: 'EVSRC_CONFIGURATION',
  /** The retry helper gave up after its last attempt hit a concurrency conflict. */
  RetriesExhausted: 'EVSRC_RETRIES_EXHAUSTED',
  /** An encrypted file failed authentication: it, its header or its key was tampered with (or the key is wrong). */
  Tampered: 'EVSRC_TAMPERED',
  /** A file is encrypted with a key id this process was not given. */
  MissingKey: 'EVSRC_MISSING_KEY',
  /** The aggregate's data key was destroyed (crypto-shredding): its files can never be read again. */
  Forgotten: 'EVSRC_FORGOTTEN',
  /** A stored event or snapshot has a schema version no registered upcaster chain leads from. */
  Upcast: 'EVSRC_UPCAST',
  /**
   * An event's payload (or a snapshot's state) holds something the formats cannot store
   * faithfully: `NaN`, a bigint, a Date, a cycle, a key `__proto__`, a field named like a
   * method of the event class, … The save fails and its events stay pending; a snapshot is
   * skipped (reported to `onError`). See `docs/guide/modelling.md`.
   */
  InvalidPayload: 'EVSRC_INVALID_PAYLOAD',
} as const;

/** One of the values of {@link ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every evsrc error. */
export class EvsrcError extends Error {
  /** Stable, machine-readable identifier of the kind of error. */
  readonly code: ErrorCodeValue;

  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * Type guard for evsrc errors that works across package copies.
 *
 * @example
 * ```ts
 * if (isEvsrcError(err, ErrorCode.Concurrency)) retry();
 * ```
 */
export function isEvsrcError(error: unknown, code?: ErrorCodeValue): error is EvsrcError {
  if (typeof error !== 'object' || error === null) return false;
  const c = (error as { code?: unknown }).code;
  if (typeof c !== 'string' || !c.startsWith('EVSRC_')) return false;
  return code === undefined || c === code;
}

/** Thrown by `FileSystem.create` when a file of that name already exists. */
export class FileExistsError extends EvsrcError {
  constructor(readonly path: string) {
    super(ErrorCode.FileExists, `File already exists: ${path}`);
  }
}

/** Thrown when a file name breaks the rules of {@link assertValidPath}. */
export class InvalidPathError extends EvsrcError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(ErrorCode.InvalidPath, `Invalid file name ${JSON.stringify(path)}: ${reason}`);
  }
}

/** Wraps a failure of the storage backend; `cause` holds the original error. */
export class StorageError extends EvsrcError {
  constructor(
    readonly operation: string,
    readonly path: string,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(ErrorCode.Storage, `Storage ${operation} failed for ${path}: ${detail}`, { cause });
  }
}

/**
 * A file system call that did not settle within the repository's `operationTimeoutMs`.
 * The repository throws it as the `cause` of a {@link StorageError}: the call itself may
 * still be running and may still land (a retried save recognises its own batch by its
 * commit id).
 */
export class TimeoutError extends EvsrcError {
  constructor(
    readonly operation: string,
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(ErrorCode.Timeout, `${operation} of ${path} timed out after ${timeoutMs} ms`);
  }
}

/** Thrown when an aggregate id or type name cannot be stored. */
export class InvalidIdError extends EvsrcError {
  constructor(
    readonly kind: 'aggregate id' | 'aggregate type' | 'event type',
    readonly value: string,
    readonly reason: string,
  ) {
    super(ErrorCode.InvalidId, `Invalid ${kind} ${preview(value)}: ${reason}`);
  }
}

/** Thrown by a save when another writer stored the aggregate's next version first. */
export class ConcurrencyError extends EvsrcError {
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
    /** The version the save expected to be the latest stored one. */
    readonly expectedVersion: number,
    /** The latest stored version found after the conflict. */
    readonly actualVersion: number,
  ) {
    super(
      ErrorCode.Concurrency,
      `Concurrency conflict on ${aggregateType} ${preview(aggregateId)}: expected version ${expectedVersion}, found ${actualVersion}`,
    );
  }
}

/** Thrown when nothing is stored for an aggregate (or nothing as of the requested point). */
export class AggregateNotFoundError extends EvsrcError {
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
    readonly detail?: string,
  ) {
    super(
      ErrorCode.AggregateNotFound,
      `Aggregate not found: ${aggregateType} ${preview(aggregateId)}${detail ? ` (${detail})` : ''}`,
    );
  }
}

/** Thrown when a stored file cannot be read: bad header, checksum mismatch, undecodable body. */
export class CorruptFileError extends EvsrcError {
  constructor(
    readonly path: string,
    readonly reason: string,
    cause?: unknown,
  ) {
    super(ErrorCode.CorruptFile, `Corrupt file ${path}: ${reason}`, { cause });
  }
}

/**
 * Thrown when a file is larger than a reader accepts: refused from its size (the backend's
 * metadata, or its header) before its bytes are read or decompressed, where that is known
 * first.
 */
export class FileTooLargeError extends EvsrcError {
  constructor(
    readonly path: string,
    /** The size found, in bytes; `undefined` when only known to be over the limit. */
    readonly size: number | undefined,
    /** The largest size accepted, in bytes. */
    readonly limit: number,
    /** Which setting (or platform bound) sets the limit, for the message. */
    readonly setting = 'maxFileBytes',
    /** What was measured, for the message (e.g. `"its body decompresses to"`). */
    what = 'it is',
  ) {
    const found = size === undefined ? `more than ${limit}` : `${size}`;
    super(
      ErrorCode.FileTooLarge,
      `File ${path} is too large: ${what} ${found} bytes, over the limit of ${limit} bytes (${setting})`,
    );
  }
}

/** Thrown when a file's header says it belongs somewhere other than where it is stored. */
export class MisplacedFileError extends EvsrcError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(ErrorCode.MisplacedFile, `File ${path} does not belong at its path: ${reason}`);
  }
}

/** Thrown when a file names a parser or format version this process does not know. */
export class UnsupportedFormatError extends EvsrcError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(ErrorCode.UnsupportedFormat, `Unsupported format in ${path}: ${reason}`);
  }
}

/**
 * Thrown by `FileSystem.create` when `options.requires` names a file that does not exist;
 * nothing was created.
 */
export class MissingPredecessorError extends EvsrcError {
  constructor(
    /** The file that was to be created. */
    readonly path: string,
    /** The file it must follow, which is missing. */
    readonly requires: string,
  ) {
    super(ErrorCode.MissingPredecessor, `Not creating ${path}: the file it follows, ${requires}, does not exist`);
  }
}

/**
 * Thrown when an aggregate's history is broken: its batch files leave a gap or overlap in
 * its versions (`gap`, `overlap`), or versions the store once held are gone (`lost`: a
 * save found the batch it follows missing, or a snapshot is newer than the last batch).
 * See `docs/reference/guarantees.md` for how to recover.
 */
export class StreamIntegrityError extends EvsrcError {
  constructor(
    readonly kind: 'gap' | 'overlap' | 'lost',
    /** The file where the stream broke (for `lost`: the missing batch, or the snapshot beyond the batches). */
    readonly path: string,
    /** `gap`/`overlap`: the version the file should start at. `lost`: the first version missing. */
    readonly expectedVersion: number,
    /** `gap`/`overlap`: the version it starts at. `lost`: the last version missing. */
    readonly foundVersion: number,
    /** The file read just before, if any. */
    readonly previousPath?: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(
      ErrorCode.StreamIntegrity,
      kind === 'lost'
        ? `Versions ${expectedVersion}–${foundVersion} are lost (${path}): ${options?.detail ?? 'the store no longer holds them'}`
        : `Version ${kind} in ${path}: expected it to start at version ${expectedVersion}, it starts at ${foundVersion}${
            previousPath ? ` (previous file: ${previousPath})` : ''
          }`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

/**
 * Thrown by a feed reader when the log lost entries it had already seen: the entry at
 * `position` is gone, or holds other batches than the reader saw there (the store lost
 * recent writes and later saves took the positions again). A projection fed past that
 * point must be rebuilt; see `docs/reference/guarantees.md`.
 */
export class FeedIntegrityError extends EvsrcError {
  constructor(
    /** The log entry that changed or is missing. */
    readonly path: string,
    readonly position: number,
    readonly reason: string,
  ) {
    super(
      ErrorCode.FeedIntegrity,
      `The change feed lost position ${position} (${path}): ${reason}. The store lost recent writes; readers that had passed this position must be rebuilt (see "When the store loses data" in docs/reference/guarantees.md)`,
    );
  }
}

/** Thrown when an event type name is not registered for its aggregate type. */
export class UnknownEventTypeError extends EvsrcError {
  constructor(
    readonly aggregateType: string,
    readonly eventType: string,
    readonly path?: string,
  ) {
    super(
      ErrorCode.UnknownEventType,
      `Unknown event type ${JSON.stringify(eventType)} for aggregate type ${aggregateType}${path ? ` in ${path}` : ''}`,
    );
  }
}

/** Thrown when an aggregate class or type name was not registered with the repository. */
export class UnknownAggregateTypeError extends EvsrcError {
  constructor(readonly aggregateType: string) {
    super(ErrorCode.UnknownAggregateType, `Aggregate type not registered: ${aggregateType}`);
  }
}

/** Thrown when the repository or a registry is configured wrongly. */
export class ConfigurationError extends EvsrcError {
  constructor(message: string) {
    super(ErrorCode.Configuration, message);
  }
}

/** Thrown by the retry helper when every attempt hit a concurrency conflict. */
export class RetriesExhaustedError extends EvsrcError {
  constructor(
    readonly attempts: number,
    cause: ConcurrencyError,
  ) {
    super(ErrorCode.RetriesExhausted, `Gave up after ${attempts} attempts: ${cause.message}`, { cause });
  }
}

/**
 * An encrypted file whose authentication tag does not match: the ciphertext, the header
 * fields bound to it (kind, type, id, versions) or the key is not what was written.
 */
export class TamperedFileError extends EvsrcError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(ErrorCode.Tampered, `Tampered file ${path}: ${reason}`);
  }
}

/** A file names an encryption key id (or needs a key) this process was not given. */
export class MissingKeyError extends EvsrcError {
  constructor(
    readonly path: string,
    /** The key id the file names. */
    readonly keyId: string,
  ) {
    super(
      ErrorCode.MissingKey,
      `Cannot read ${path}: it is encrypted with key ${JSON.stringify(keyId)}, which was not given (pass it in the encryption keyring)`,
    );
  }
}

/**
 * The aggregate was forgotten: its data key was destroyed ({@link Repository.forget}),
 * so its files can never be decrypted again. This is how an erasure request is honoured
 * in an append-only store.
 */
export class ForgottenError extends EvsrcError {
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
  ) {
    super(
      ErrorCode.Forgotten,
      `Aggregate ${aggregateType} ${preview(aggregateId)} was forgotten: its data key is destroyed and its events cannot be read`,
    );
  }
}

/** A stored event or snapshot's schema version cannot be brought to the current one. */
export class UpcastError extends EvsrcError {
  constructor(
    readonly what: string,
    readonly storedVersion: number,
    readonly currentVersion: number,
    readonly path?: string,
  ) {
    const why =
      storedVersion > currentVersion
        ? 'it was written by newer code'
        : `no upcaster is registered from version ${storedVersion}`;
    super(
      ErrorCode.Upcast,
      `Cannot read ${what} version ${storedVersion} as version ${currentVersion}: ${why}${path ? ` (in ${path})` : ''}`,
    );
  }
}

/**
 * Thrown by a save when an event's payload cannot be stored faithfully: reading it back
 * would not give what was saved (`NaN` would become `null`, a Date a string, a key
 * `__proto__` another key, …) or would fail. Nothing is written and the events stay
 * pending. Also reported to `onError` (operation `snapshot-write`, `eventType` undefined)
 * when a snapshot's state cannot be stored; the snapshot is then skipped.
 */
export class InvalidPayloadError extends EvsrcError {
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
    /** The event's stored type name; `undefined` for a snapshot's state. */
    readonly eventType: string | undefined,
    /** Where in the payload, written as in JavaScript (`items[3].price`); `''` for the payload itself. */
    readonly field: string,
    /** What is wrong there, e.g. "is NaN, which JSON stores as null". */
    readonly reason: string,
  ) {
    const what = eventType === undefined ? 'the snapshot state' : `the payload of event ${JSON.stringify(eventType)}`;
    const where = field === '' ? what : `${what}: field ${field.length <= 200 ? field : `${field.slice(0, 200)}…`}`;
    super(ErrorCode.InvalidPayload, `Cannot store ${aggregateType} ${preview(aggregateId)}, ${where} ${reason}`);
  }
}

/** Shortens long values in messages (a 10,000-character id must not flood a log). */
export function preview(value: string, max = 120): string {
  const s = JSON.stringify(value);
  return s.length <= max ? s : `${s.slice(0, max)}…(${value.length} chars)`;
}
