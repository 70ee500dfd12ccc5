import { DataKeys } from '../codec/keys.js';
import { CodecPipeline } from '../codec/pipeline.js';
import { AggregateNotFoundError, ConfigurationError } from '../errors.js';
import { type FeedSetting, openFeedLog } from '../feed/commit.js';
import type { LoggedBatch } from '../feed/entry.js';
import { Feed } from '../feed/feed.js';
import type { FeedLog } from '../feed/log.js';
import { encodeSegment, eventsFolder, versionInName } from '../format/layout.js';
import type { Aggregate, AggregateClass } from '../model/aggregate.js';
import type { EventRecord } from '../model/event-record.js';
import { json } from '../parsers/json.js';
import { msgpack } from '../parsers/msgpack.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem, operationTimeout } from '../storage/guarded.js';
import { describeAsOf } from './as-of.js';
import { AggregateCache } from './cache.js';
import { FileCodec } from './codec.js';
import { batches, cacheKey, type RepositoryContext, records } from './context.js';
import { execute } from './execute.js';
import { load } from './load.js';
import type { AsOf, ExecuteOptions, ReadEventsOptions, RepositoryOptions, SaveOptions } from './options.js';
import { Registry } from './registry.js';
import { saveBatch } from './save.js';

/**
 * Loads and saves aggregates as files on a {@link FileSystem}.
 *
 * Every save writes one immutable batch file holding all pending events, named by its
 * first version and created with the file system's atomic create-if-absent: of two
 * writers racing from the same version exactly one wins, the other gets a
 * {@link ConcurrencyError}. A load reads the newest snapshot and every later batch, in
 * order, and checks that the versions are contiguous.
 */
export class Repository {
  /**
   * The file system every call goes to: the one given in the options, or, with
   * `operationTimeoutMs`, a wrapper of it that bounds each call.
   */
  readonly fileSystem: FileSystem;
  /** What loading, saving and snapshotting share. */
  readonly #ctx: RepositoryContext;
  readonly #saving = new WeakMap<Aggregate, Promise<unknown>>();
  readonly #feedOption: FeedSetting;
  /** The feed writer when the store's feed is on (looked up at the first save). */
  #feedWriter: Promise<FeedLog | undefined> | undefined;
  #feed: Feed | undefined;
  readonly #feedReading: RepositoryOptions['feedReading'];

  constructor(options: RepositoryOptions) {
    const timeoutMs = operationTimeout(options.operationTimeoutMs);
    this.fileSystem =
      timeoutMs === undefined ? options.fileSystem : new GuardedFileSystem(options.fileSystem, timeoutMs);
    const format =
      options.format === 'msgpack' ? msgpack : options.format === 'json' || !options.format ? json : options.format;
    const pipeline = new CodecPipeline(options.codec);
    const dataKeys = pipeline.keyring ? new DataKeys(this.fileSystem, pipeline.keyring) : undefined;
    const readable = [json, msgpack, ...(options.readFormats ?? [])];
    const cache = options.cache;
    this.#feedOption = options.feed;
    this.#feedReading = options.feedReading;
    this.#ctx = {
      fileSystem: this.fileSystem,
      guarded: GuardedFileSystem.of(this.fileSystem),
      codec: new FileCodec(format, readable, pipeline, dataKeys, options.maxFileBytes),
      clock: options.clock ?? Date.now,
      cache: cache ? new AggregateCache(cache === true ? 1000 : (cache.maxEntries ?? 1000)) : undefined,
      concurrency: options.readConcurrency ?? options.fileSystem.readConcurrency ?? 4,
      onError:
        options.onError ??
        ((error, ctx) =>
          console.warn(`evsrc: ${ctx.operation} failed for ${ctx.aggregateType} ${ctx.aggregateId}:`, error)),
      registry: new Registry(options.aggregates),
      feedLog: () => this.#feedLog(),
    };
  }

  /**
   * The change feed of the store: every committed batch, across aggregates, in a stable
   * order, from a checkpoint (see `docs/reference/feed.md`). Batches are logged only while the
   * store's feed is on (the `feed` option). Reading needs every type read to be
   * registered here (or a `types` filter), and write access: a reader completes batches
   * whose writer died after logging them.
   */
  get feed(): Feed {
    const { codec, registry } = this.#ctx;
    this.#feed ??= new Feed(
      this.fileSystem,
      {
        decode: async (batch, bytes) => {
          const reg = registry.ofType(batch.type);
          const decoded = await codec.readBatch(batch.path, bytes, batch);
          return records(reg, batch.id, decoded);
        },
        checkpointIn: (batch: LoggedBatch, bytes) => codec.batchHeader(batch.path, bytes, batch).feed,
        headerOf: (batch: LoggedBatch, bytes) => codec.batchHeader(batch.path, bytes, batch),
      },
      this.#feedReading,
    );
    return this.#feed;
  }

  /** The feed writer, when this store's batches must be logged (decided once, at the first save). */
  #feedLog(): Promise<FeedLog | undefined> {
    this.#feedWriter ??= openFeedLog(this.fileSystem, this.#feedOption).catch((error) => {
      this.#feedWriter = undefined;
      throw error;
    });
    return this.#feedWriter;
  }

  /**
   * Loads an aggregate: its newest usable snapshot and every later batch, or its state
   * as of a version or a timestamp (time travel).
   * @throws {AggregateNotFoundError} when nothing is stored (or nothing as of `asOf`).
   */
  async get<A extends Aggregate>(aggregate: AggregateClass<A>, id: string, asOf?: AsOf): Promise<A> {
    const loaded = await load(this.#ctx, this.#ctx.registry.of(aggregate), id, asOf);
    if (!loaded) throw new AggregateNotFoundError(aggregate.type, id, describeAsOf(asOf));
    return loaded as A;
  }

  /** Like {@link get}, but resolves to `undefined` when nothing is stored. */
  async find<A extends Aggregate>(aggregate: AggregateClass<A>, id: string, asOf?: AsOf): Promise<A | undefined> {
    return (await load(this.#ctx, this.#ctx.registry.of(aggregate), id, asOf)) as A | undefined;
  }

  /** Yields the stored events of one aggregate, in order, without building it. */
  async *events(aggregate: AggregateClass, id: string, options: ReadEventsOptions = {}): AsyncGenerator<EventRecord> {
    const reg = this.#ctx.registry.of(aggregate);
    const from = Math.max(1, options.fromVersion ?? 1);
    const to = options.toVersion ?? Number.POSITIVE_INFINITY;
    // Start listing at the batch that may hold `from`: batches are named by their first version.
    let after = 0;
    if (from > 1) {
      const names = this.#ctx.guarded.list(eventsFolder(reg.type, id));
      for await (const name of names) {
        const first = versionInName(name, '.batch');
        if (first === undefined || first > from) break;
        after = first - 1;
      }
    }
    for await (const batch of batches(this.#ctx, reg, id, after)) {
      for (const record of records(reg, id, batch)) {
        if (record.version > to) return;
        if (record.version >= from) yield record;
      }
    }
  }

  /**
   * Stores the aggregate's pending events as one batch file.
   *
   * On success the events stop being pending, observers hear of them, and a snapshot is
   * written if the type's policy says so (a failed snapshot never fails the save). On
   * failure the events stay pending, so the same call can be retried: a retry whose
   * earlier attempt did land (e.g. after a time-out) is recognised by its commit id and
   * succeeds without writing twice.
   *
   * @returns the stored records (empty when nothing was pending).
   * @throws {ConcurrencyError} when another writer stored the next version first.
   */
  async save(aggregate: Aggregate, options: SaveOptions = {}): Promise<readonly EventRecord[]> {
    // Saves of one object run one after the other, so a retry cannot race its own first try.
    const previous = this.#saving.get(aggregate) ?? Promise.resolve();
    // This call stores the events pending now; those raised later are left to a later save.
    const upTo = aggregate.pendingEvents.at(-1);
    const run = previous.catch(() => undefined).then(() => saveBatch(this.#ctx, aggregate, upTo, options));
    this.#saving.set(aggregate, run);
    return run;
  }

  /**
   * Runs a command with retries: loads the aggregate, runs `command` on it, saves; on a
   * {@link ConcurrencyError} waits a little and does it all again, up to `maxAttempts`.
   * The command must only decide and raise events: it may run more than once.
   *
   * @returns the saved aggregate.
   * @throws {RetriesExhaustedError} when every attempt conflicted.
   */
  async execute<A extends Aggregate>(
    aggregate: AggregateClass<A>,
    id: string,
    command: (aggregate: A) => void | Promise<void>,
    options: ExecuteOptions = {},
  ): Promise<A> {
    return execute(this, aggregate, id, command, options);
  }

  /**
   * Crypto-shredding: destroys the aggregate's data key, so its stored events and
   * snapshots can never be decrypted again; loading it then fails with a
   * `ForgottenError` (`EVSRC_FORGOTTEN`), and it can never be saved again. The files stay
   * (append-only), as unreadable ciphertext. Needs `codec.encryption.perAggregateKeys`.
   *
   * Other processes keep data keys they already used in memory until they restart.
   * @throws {ConfigurationError} when the repository has no per-aggregate keys.
   */
  async forget(aggregate: AggregateClass, id: string): Promise<void> {
    const reg = this.#ctx.registry.of(aggregate);
    const dataKeys = this.#ctx.codec.dataKeys;
    if (!dataKeys || !this.#ctx.codec.pipeline.writesWithDataKeys) {
      throw new ConfigurationError('forget() needs codec.encryption.perAggregateKeys: true');
    }
    encodeSegment(id);
    this.#ctx.cache?.delete(cacheKey(reg.type, id));
    await dataKeys.forget(reg.type, id);
  }
}
