/**
 * `@evsrc/core/internals`: the building blocks behind the public API, for evsrc's own tools
 * (the CLI, the benchmarks, the reliability and integration tests, core's tests).
 *
 * **Unstable.** Nothing here is covered by semver: names, signatures and behaviour change in
 * any release, without notice. Applications import from `@evsrc/core` only, storage adapters
 * from `@evsrc/core` and `@evsrc/core/adapter`; if an adapter seems to need something from
 * here, open an issue: it probably belongs in `@evsrc/core/adapter`.
 *
 * Holds only what `@evsrc/core` and `@evsrc/core/adapter` do not export; import those names
 * from there.
 *
 * @packageDocumentation
 */

export { COMPRESSIONS } from './codec/compression.js';
export { AES_256_GCM } from './codec/encryption.js';
export { AGGREGATE_KEY, DataKeys, dataKeyPath, Keyring } from './codec/keys.js';
export { CodecPipeline, type FilePlace, needsDataKey } from './codec/pipeline.js';
export { preview } from './errors.js';
export { type FeedSetting, openFeedLog } from './feed/commit.js';
export { SegmentIndex } from './feed/compacted.js';
export { compactFeed, compactLog } from './feed/compaction.js';
export {
  decodeEntry,
  type EntryLink,
  encodeEntry,
  type FeedEntry,
  type LoggedBatch,
  type LoggedBatchInfo,
  readEntry,
} from './feed/entry.js';
export type { FeedCodec, LoggedBatchHeader } from './feed/feed.js';
export { ConsumerGroup, type ConsumerGroupOptions, type GroupRound } from './feed/group.js';
export {
  BELL,
  chunkFolder,
  DEFAULT_PARTITIONS,
  decodeMarker,
  encodeMarker,
  entryPath,
  FEED_HEAD_HINT,
  FEED_MARKER,
  type FeedLayout,
  type FeedPosition,
  type FeedVector,
  formatCheckpoint,
  formatVector,
  headHintPath,
  isAfter,
  isCheckpoint,
  LEGACY_LAYOUT,
  logFolder,
  parseCheckpoint,
  parseVector,
  partitionOf,
  placeOf,
  positionInName,
  RESERVED_FOLDER,
} from './feed/layout.js';
export { FeedLog } from './feed/log.js';
export { readLayout } from './feed/marker.js';
export { FeedPoller } from './feed/poller.js';
export { decodeLogSegment, encodeLogSegment, type SegmentEntry, segmentPath, segmentRange } from './feed/segment.js';
export { type BatchIntent, discoverHead, FeedWriter, findHead, type LoggedIntent } from './feed/writer.js';
export { FORMAT_VERSION, PLAIN_FORMAT_VERSION, writeFile } from './format/envelope.js';
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
export { EventRegistry } from './model/event-registry.js';
export { UpcasterChain } from './model/upcasting.js';
export { jsonAggregateParser, jsonEventBatchParser } from './parsers/json.js';
export { msgpackAggregateParser, msgpackEventBatchParser } from './parsers/msgpack.js';
export { backoffDelay } from './repository/backoff.js';
export { mapOrdered } from './util/ordered.js';
