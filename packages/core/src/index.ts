/**
 * `@evsrc/core`: event sourcing on plain files.
 *
 * - The model: {@link Aggregate}, {@link ChangeEvent}, {@link EventRecord}.
 * - The ports: {@link FileSystem}, {@link EventBatchParser}, {@link AggregateParser}.
 * - The adapters that need nothing else: {@link InMemoryFileSystem}, {@link json}, {@link msgpack}.
 * - The {@link Repository} that loads and saves aggregates as batch files and snapshots.
 * - The change {@link Feed} of a store, and {@link Projection}s fed by it.
 *
 * This entry point is the public API: what an application needs, and nothing else
 * (`packages/core/api.md` lists it; `test/public-api.test.ts` guards it). What only someone
 * writing a storage adapter needs (naming rules, listing, read limits, store-URL parameters)
 * is in `@evsrc/core/adapter`, stable too. The building blocks the CLI, the benchmarks and
 * the reliability tests use are in `@evsrc/core/internals`, which carries no stability promise.
 *
 * @packageDocumentation
 */

// Codec options (compression, encryption)
export { type Compression, zstdAvailable } from './codec/compression.js';
export type { EncryptionOptions } from './codec/keys.js';
export type { CodecOptions } from './codec/pipeline.js';
// Errors: every class and code is public
export {
  AggregateNotFoundError,
  ConcurrencyError,
  ConfigurationError,
  CorruptFileError,
  ErrorCode,
  type ErrorCodeValue,
  EvsrcError,
  FeedIntegrityError,
  FileExistsError,
  FileTooLargeError,
  ForgottenError,
  InvalidIdError,
  InvalidPathError,
  InvalidPayloadError,
  isEvsrcError,
  MisplacedFileError,
  MissingKeyError,
  MissingPredecessorError,
  RetriesExhaustedError,
  StorageError,
  StreamIntegrityError,
  TamperedFileError,
  TimeoutError,
  UnknownAggregateTypeError,
  UnknownEventTypeError,
  UnsupportedFormatError,
  UpcastError,
} from './errors.js';
// The change feed and projections
export type { CompactionResult, CompactOptions } from './feed/compaction.js';
export { Feed, type FeedBatch, type FeedOptions, type FeedReadOptions, type FeedWatchOptions } from './feed/feed.js';
export { type Checkpoint, FEED_START } from './feed/layout.js';
export { Projection, type ProjectionOptions } from './feed/projection.js';
export { SharedProjection, type SharedProjectionOptions } from './feed/shared-projection.js';
// Reading one stored file (its header), e.g. to check how it was encoded
export {
  type BatchHeader,
  type CodecFields,
  type ParsedFile,
  readFile,
  type SnapshotHeader,
} from './format/envelope.js';
// The model
export {
  Aggregate,
  type AggregateClass,
  type EventObserver,
  type PendingEvent,
  type RaiseOptions,
} from './model/aggregate.js';
export { ChangeEvent, type ChangeEventClass } from './model/change-event.js';
export type { EventMetadata, EventRecord, StoredEvent } from './model/event-record.js';
// Checking a payload before raising it (docs/guide/modelling.md)
export {
  findPayloadProblem,
  MAX_PAYLOAD_DEPTH,
  type PayloadProblem,
  type PayloadRules,
} from './model/payload-check.js';
export { type EventUpcaster, type SnapshotUpcaster, upcastEvent, upcastSnapshot } from './model/upcasting.js';
// Formats
export { json } from './parsers/json.js';
export { msgpack } from './parsers/msgpack.js';
export type { AggregateParser, EventBatchParser, Format } from './parsers/parser.js';
// The repository
export {
  type AggregateRegistration,
  aggregateType,
  everyNEvents,
  type SnapshotContext,
  type SnapshotPolicy,
} from './repository/aggregate-type.js';
export type {
  AsOf,
  BackgroundErrorContext,
  ExecuteOptions,
  ReadEventsOptions,
  RepositoryOptions,
  SaveOptions,
} from './repository/options.js';
export { Repository } from './repository/repository.js';
// The FileSystem port (what an adapter implements: see `@evsrc/core/adapter`), and the in-memory one
export type { CreateOptions, FileSystem, ListOptions, ReadOptions, ReplaceOptions } from './storage/file-system.js';
export { InMemoryFileSystem, type InMemoryFileSystemOptions } from './storage/in-memory.js';
