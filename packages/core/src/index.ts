/**
 * `@evsrc/core`: event sourcing on plain files.
 *
 * - The model: {@link Aggregate}, {@link ChangeEvent}, {@link EventRecord}.
 * - The ports: {@link FileSystem}, {@link EventBatchParser}, {@link AggregateParser}.
 * - The adapters that need nothing else: {@link InMemoryFileSystem}, {@link json}, {@link msgpack}.
 * - The {@link Repository} that loads and saves aggregates as batch files and snapshots.
 * - The change {@link Feed} of a store, and {@link Projection}s fed by it.
 *
 * @packageDocumentation
 */

export {
  COMPRESSIONS,
  type Compression,
  zstdAvailable,
} from './codec/compression.js';
export { AES_256_GCM } from './codec/encryption.js';
export { AGGREGATE_KEY, DataKeys, dataKeyPath, type EncryptionOptions, Keyring } from './codec/keys.js';
export { type CodecFields, type CodecOptions, CodecPipeline, type FilePlace, needsDataKey } from './codec/pipeline.js';
export { readUrlParams, type UrlParamKind, type UrlParams } from './config/url-params.js';
export * from './errors.js';
export {
  decodeEntry,
  type EntryLink,
  encodeEntry,
  type FeedEntry,
  type LoggedBatch,
  type LoggedBatchInfo,
  readEntry,
} from './feed/entry.js';
export {
  Feed,
  type FeedBatch,
  type FeedCodec,
  type FeedOptions,
  type FeedReadOptions,
  type FeedWatchOptions,
  type LoggedBatchHeader,
} from './feed/feed.js';
export {
  type Checkpoint,
  chunkFolder,
  entryPath,
  FEED_FOLDER,
  FEED_HEAD_HINT,
  FEED_MARKER,
  FEED_START,
  type FeedPosition,
  formatCheckpoint,
  isAfter,
  parseCheckpoint,
  positionInName,
  RESERVED_FOLDER,
} from './feed/layout.js';
export { FeedPoller } from './feed/poller.js';
export { Projection, type ProjectionOptions } from './feed/projection.js';
export { type BatchIntent, discoverHead, FeedWriter, findHead, type LoggedIntent } from './feed/writer.js';
export {
  type BatchHeader,
  FORMAT_VERSION,
  type ParsedFile,
  PLAIN_FORMAT_VERSION,
  readFile,
  type SnapshotHeader,
  writeFile,
} from './format/envelope.js';
export {
  aggregateFolder,
  batchPath,
  decodeSegment,
  encodeSegment,
  eventsFolder,
  MAX_SEGMENT_BYTES,
  MAX_VERSION,
  snapshotPath,
  snapshotsFolder,
  versionInName,
} from './format/layout.js';
export { type FoundName, listAggregateIds, listAggregateTypes } from './inspect/listing.js';
export {
  type DecodedBatch,
  FileCodec,
  type ReadStoredBatchesOptions,
  readStoredBatches,
  storedFileCodec,
} from './inspect/stored-batches.js';
export {
  Aggregate,
  type AggregateClass,
  type EventObserver,
  type PendingEvent,
  type RaiseOptions,
} from './model/aggregate.js';
export { ChangeEvent, type ChangeEventClass } from './model/change-event.js';
export type { EventMetadata, EventRecord, StoredEvent } from './model/event-record.js';
export { EventRegistry } from './model/event-registry.js';
export {
  findPayloadProblem,
  MAX_PAYLOAD_DEPTH,
  type PayloadProblem,
  type PayloadRules,
} from './model/payload-check.js';
export {
  type EventUpcaster,
  type SnapshotUpcaster,
  UpcasterChain,
  upcastEvent,
  upcastSnapshot,
} from './model/upcasting.js';
export { json, jsonAggregateParser, jsonEventBatchParser } from './parsers/json.js';
export { msgpack, msgpackAggregateParser, msgpackEventBatchParser } from './parsers/msgpack.js';
export type { AggregateParser, EventBatchParser, Format } from './parsers/parser.js';
export {
  type AggregateRegistration,
  aggregateType,
  everyNEvents,
  type SnapshotContext,
  type SnapshotPolicy,
} from './repository/aggregate-type.js';
export { backoffDelay } from './repository/backoff.js';
export type {
  AsOf,
  BackgroundErrorContext,
  ExecuteOptions,
  ReadEventsOptions,
  RepositoryOptions,
  SaveOptions,
} from './repository/options.js';
export { Repository } from './repository/repository.js';
export {
  type CreateOptions,
  type FileSystem,
  HEAD_CHECK_ABOVE,
  type ListOptions,
  READ_HEAD_BYTES,
  type ReadOptions,
} from './storage/file-system.js';
export { InMemoryFileSystem, type InMemoryFileSystemOptions } from './storage/in-memory.js';
export { type Listing, openListing } from './storage/list-options.js';
export { assertValidPath, assertValidPrefix, compareNames, MAX_PATH_BYTES } from './storage/paths.js';
export { checkReadSize, MAX_READ_BYTES, readStreamBody, STREAM_HEAD_ABOVE } from './storage/read-limits.js';
export { mapOrdered } from './util/ordered.js';
