import { setTimeout as sleep } from 'node:timers/promises';
import { DataKeys } from '../codec/keys.js';
import { CodecPipeline } from '../codec/pipeline.js';
import {
  AggregateNotFoundError,
  ConcurrencyError,
  ConfigurationError,
  CorruptFileError,
  ErrorCode,
  isEvsrcError,
  type MissingPredecessorError,
  RetriesExhaustedError,
  StreamIntegrityError,
  UnknownAggregateTypeError,
} from '../errors.js';
import type { LoggedBatch } from '../feed/entry.js';
import { Feed } from '../feed/feed.js';
import { FEED_MARKER } from '../feed/layout.js';
import { FeedWriter } from '../feed/writer.js';
import {
  batchPath,
  encodeSegment,
  eventsFolder,
  snapshotPath,
  snapshotsFolder,
  versionInName,
} from '../format/layout.js';
import {
  type Aggregate,
  type AggregateClass,
  internal,
  type PendingEvent,
  type StoredBatch,
} from '../model/aggregate.js';
import type { EventRecord, StoredEvent } from '../model/event-record.js';
import { EventRegistry } from '../model/event-registry.js';
import { snapshotStateOf } from '../model/payload-check.js';
import { snapshotVersion, UpcasterChain } from '../model/upcasting.js';
import { json } from '../parsers/json.js';
import { msgpack } from '../parsers/msgpack.js';
import type { FileSystem } from '../storage/file-system.js';
import { GuardedFileSystem, operationTimeout } from '../storage/guarded.js';
import { type AggregateRegistration, everyNEvents, type SnapshotPolicy } from './aggregate-type.js';
import { describeAsOf, type LoadBounds, loadBounds } from './as-of.js';
import { backoffDelay } from './backoff.js';
import { MisalignedSnapshotError, readBatches, type SnapshotAnchor } from './batch-reader.js';
import { AggregateCache } from './cache.js';
import { type DecodedBatch, FileCodec } from './codec.js';
import type {
  AsOf,
  BackgroundErrorContext,
  ExecuteOptions,
  ReadEventsOptions,
  RepositoryOptions,
  SaveOptions,
} from './options.js';

interface Registered {
  readonly type: string;
  readonly aggregate: AggregateClass;
  readonly events: EventRegistry;
  readonly snapshots?: SnapshotPolicy;
  /** The snapshot schema: the class's `snapshotVersion` and the upcasters leading to it. */
  readonly snapshotSchema: UpcasterChain<unknown>;
}

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
  readonly #codec: FileCodec;
  readonly #byClass = new Map<AggregateClass, Registered>();
  readonly #byType = new Map<string, Registered>();
  /** {@link fileSystem}, its calls guarded (it is already, with a time-out). */
  readonly #guarded: GuardedFileSystem;
  readonly #clock: () => number;
  readonly #cache: AggregateCache | undefined;
  readonly #concurrency: number;
  readonly #onError: (error: unknown, context: BackgroundErrorContext) => void;
  readonly #saving = new WeakMap<Aggregate, Promise<unknown>>();
  readonly #feedOption: boolean | undefined;
  /** The feed writer when the store's feed is on (looked up at the first save). */
  #feedWriter: Promise<FeedWriter | undefined> | undefined;
  #feed: Feed | undefined;
  readonly #feedReading: RepositoryOptions['feedReading'];

  constructor(options: RepositoryOptions) {
    const timeoutMs = operationTimeout(options.operationTimeoutMs);
    this.fileSystem =
      timeoutMs === undefined ? options.fileSystem : new GuardedFileSystem(options.fileSystem, timeoutMs);
    this.#guarded = GuardedFileSystem.of(this.fileSystem);
    const format =
      options.format === 'msgpack' ? msgpack : options.format === 'json' || !options.format ? json : options.format;
    const pipeline = new CodecPipeline(options.codec);
    const dataKeys = pipeline.keyring ? new DataKeys(this.fileSystem, pipeline.keyring) : undefined;
    const readable = [json, msgpack, ...(options.readFormats ?? [])];
    this.#codec = new FileCodec(format, readable, pipeline, dataKeys, options.maxFileBytes);
    this.#clock = options.clock ?? Date.now;
    const cache = options.cache;
    this.#cache = cache ? new AggregateCache(cache === true ? 1000 : (cache.maxEntries ?? 1000)) : undefined;
    this.#concurrency = options.readConcurrency ?? options.fileSystem.readConcurrency ?? 4;
    this.#onError =
      options.onError ??
      ((error, ctx) =>
        console.warn(`evsrc: ${ctx.operation} failed for ${ctx.aggregateType} ${ctx.aggregateId}:`, error));
    this.#feedOption = options.feed;
    this.#feedReading = options.feedReading;
    for (const registration of options.aggregates) this.#register(registration);
  }

  /**
   * The change feed of the store: every committed batch, across aggregates, in a stable
   * order, from a checkpoint (see `docs/reference/feed.md`). Batches are logged only while the
   * store's feed is on (the `feed` option). Reading needs every type read to be
   * registered here (or a `types` filter), and write access: a reader completes batches
   * whose writer died after logging them.
   */
  get feed(): Feed {
    this.#feed ??= new Feed(
      this.fileSystem,
      {
        decode: async (batch, bytes) => {
          const reg = this.#byType.get(batch.type);
          if (!reg) throw new UnknownAggregateTypeError(batch.type);
          const decoded = await this.#codec.readBatch(batch.path, bytes, batch);
          return this.#records(reg, batch.id, decoded);
        },
        checkpointIn: (batch: LoggedBatch, bytes) => this.#codec.batchHeader(batch.path, bytes, batch).feed,
        headerOf: (batch: LoggedBatch, bytes) => this.#codec.batchHeader(batch.path, bytes, batch),
      },
      this.#feedReading,
    );
    return this.#feed;
  }

  /** The feed writer, when this store's batches must be logged (decided once, at the first save). */
  #feedLog(): Promise<FeedWriter | undefined> {
    this.#feedWriter ??= this.#openFeedLog().catch((error) => {
      this.#feedWriter = undefined;
      throw error;
    });
    return this.#feedWriter;
  }

  async #openFeedLog(): Promise<FeedWriter | undefined> {
    if (this.#feedOption === true) {
      try {
        const on = new TextEncoder().encode('on\n');
        await this.#guarded.create(FEED_MARKER, on);
      } catch (error) {
        if (!isEvsrcError(error, ErrorCode.FileExists)) throw error;
      }
      return new FeedWriter(this.fileSystem);
    }
    const marker = await this.#guarded.read(FEED_MARKER);
    if (marker === undefined) return undefined;
    if (this.#feedOption === false) {
      throw new ConfigurationError(
        `This store's change feed is on (${FEED_MARKER} exists): a repository with feed: false would store batches the feed never shows`,
      );
    }
    return new FeedWriter(this.fileSystem);
  }

  #register(registration: AggregateRegistration): void {
    const type: unknown = registration.aggregate?.type;
    if (typeof type !== 'string') {
      throw new ConfigurationError(`Aggregate class ${registration.aggregate?.name} has no static string "type" name`);
    }
    const folder = encodeSegment(type, 'aggregate type');
    const clash = [...this.#byType.keys()].find((t) => encodeSegment(t, 'aggregate type') === folder);
    if (clash !== undefined) throw new ConfigurationError(`Aggregate type "${type}" is registered twice`);
    const { snapshots } = registration;
    const entry: Registered = {
      type,
      aggregate: registration.aggregate,
      events: new EventRegistry(type, registration.events, registration.upcasters),
      snapshotSchema: new UpcasterChain(
        `snapshots of ${type}`,
        snapshotVersion(registration.aggregate),
        registration.snapshotUpcasters ?? [],
      ),
      ...(snapshots ? { snapshots: typeof snapshots === 'function' ? snapshots : everyNEvents(snapshots.every) } : {}),
    };
    this.#byClass.set(registration.aggregate, entry);
    this.#byType.set(type, entry);
  }

  #registered(aggregate: AggregateClass): Registered {
    const entry = this.#byClass.get(aggregate);
    if (!entry) throw new UnknownAggregateTypeError(aggregate?.type ?? aggregate?.name ?? String(aggregate));
    return entry;
  }

  /**
   * Loads an aggregate: its newest usable snapshot and every later batch, or its state
   * as of a version or a timestamp (time travel).
   * @throws {AggregateNotFoundError} when nothing is stored (or nothing as of `asOf`).
   */
  async get<A extends Aggregate>(aggregate: AggregateClass<A>, id: string, asOf?: AsOf): Promise<A> {
    const loaded = await this.#load(this.#registered(aggregate), id, asOf);
    if (!loaded) throw new AggregateNotFoundError(aggregate.type, id, describeAsOf(asOf));
    return loaded as A;
  }

  /** Like {@link get}, but resolves to `undefined` when nothing is stored. */
  async find<A extends Aggregate>(aggregate: AggregateClass<A>, id: string, asOf?: AsOf): Promise<A | undefined> {
    return (await this.#load(this.#registered(aggregate), id, asOf)) as A | undefined;
  }

  /** Yields the stored events of one aggregate, in order, without building it. */
  async *events(aggregate: AggregateClass, id: string, options: ReadEventsOptions = {}): AsyncGenerator<EventRecord> {
    const reg = this.#registered(aggregate);
    const from = Math.max(1, options.fromVersion ?? 1);
    const to = options.toVersion ?? Number.POSITIVE_INFINITY;
    // Start listing at the batch that may hold `from`: batches are named by their first version.
    let after = 0;
    if (from > 1) {
      const names = this.#guarded.list(eventsFolder(reg.type, id));
      for await (const name of names) {
        const first = versionInName(name, '.batch');
        if (first === undefined || first > from) break;
        after = first - 1;
      }
    }
    for await (const batch of this.#batches(reg, id, after)) {
      for (const record of this.#records(reg, id, batch)) {
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
    const run = previous.catch(() => undefined).then(() => this.#save(aggregate, upTo, options));
    this.#saving.set(aggregate, run);
    return run;
  }

  async #save(
    aggregate: Aggregate,
    upTo: PendingEvent | undefined,
    options: SaveOptions,
  ): Promise<readonly EventRecord[]> {
    const reg = this.#registered(aggregate.constructor as AggregateClass);
    // The events pending when save() was called: any raised since stay pending for the next save.
    const all = aggregate.pendingEvents;
    const pending = upTo === undefined ? [] : all.slice(0, all.indexOf(upTo) + 1);
    if (pending.length === 0) return [];
    const inner = aggregate[internal];
    const { id } = aggregate;
    const first = aggregate.storedVersion + 1;
    const last = first + pending.length - 1;
    const previous = await this.#predecessor(reg, aggregate);
    const after = previous?.first;
    const requires = after === undefined ? undefined : batchPath(reg.type, id, after);
    const timestamp = Math.max(this.#clock(), inner.lastTimestamp());
    const commit = inner.commitId();
    // Built field by field (no conditional spreads): this runs once per saved event.
    const stored: StoredEvent[] = pending.map((p) => {
      const metadata = options.metadata || p.metadata ? { ...options.metadata, ...p.metadata } : undefined;
      const version = reg.events.versionOf(p.event);
      const s: Mutable<StoredEvent> = {
        type: reg.events.nameOf(p.event),
        timestamp,
        payload: reg.events.payloadOf(p.event, id),
      };
      if (version !== 1) s.version = version;
      if (p.eventId !== undefined) s.eventId = p.eventId;
      if (metadata) s.metadata = metadata;
      return s;
    });
    const path = batchPath(reg.type, id, first);
    const dataKey = await this.#codec.writeKey(reg.type, id);
    const fields = { type: reg.type, id, first, last, commit };
    const log = await this.#feedLog();
    // With the feed on, the batch is logged first (with its place in the feed in its
    // header), so that a crash between the two writes cannot leave a batch the feed misses.
    const encode = this.#codec.stageBatch(fields, stored, dataKey);
    const bytes = log
      ? (await log.append({ path, ...fields, ...followed(previous), encode })).bytes
      : encode(undefined);
    let records: EventRecord[];
    try {
      await this.#guarded.create(path, bytes, requires === undefined ? undefined : { requires });
      records = stored.map((s, i) => {
        const r: Mutable<EventRecord> = {
          aggregateType: reg.type,
          aggregateId: id,
          version: first + i,
          timestamp: s.timestamp,
          type: s.type,
          event: (pending[i] as (typeof pending)[number]).event,
        };
        if (s.eventId !== undefined) r.eventId = s.eventId;
        if (s.metadata) r.metadata = s.metadata;
        return r;
      });
    } catch (error) {
      if (isEvsrcError(error, ErrorCode.MissingPredecessor)) throw lostPredecessor(reg.type, id, aggregate, error);
      if (!isEvsrcError(error, ErrorCode.FileExists)) throw error;
      const landed = await this.#ourEarlierAttempt(reg, id, path, first, last, commit, pending);
      if (!landed) {
        this.#cache?.delete(cacheKey(reg.type, id));
        throw new ConcurrencyError(reg.type, id, first - 1, await this.#latestVersion(reg, id, first));
      }
      if (landed.length < pending.length) {
        // An earlier attempt stored only the events pending then: they are stored, the rest go in the next batch.
        this.#committed(reg, aggregate, landed, commit);
        return [...landed, ...(await this.#save(aggregate, upTo, options))];
      }
      records = landed;
    }
    const previousVersion = aggregate.storedVersion;
    this.#committed(reg, aggregate, records, commit);
    if (reg.snapshots?.({ aggregate, previousVersion, version: last }) && aggregate.version === last) {
      await this.#writeSnapshot(reg, aggregate);
    }
    return records;
  }

  /**
   * The batch this save must follow (`undefined` for an aggregate's first batch).
   * @throws {ConcurrencyError} when the aggregate was loaded as of a version inside a
   *   batch (time travel): the stream goes on past it, so nothing can follow it.
   */
  async #predecessor(reg: Registered, aggregate: Aggregate): Promise<StoredBatch | undefined> {
    const stored = aggregate.storedVersion;
    if (stored === 0) return undefined;
    const batch = aggregate[internal].storedBatch();
    if (batch?.last === stored) return batch;
    const latest = batch ? await this.#latestVersion(reg, aggregate.id, batch.first) : stored;
    throw new ConcurrencyError(reg.type, aggregate.id, stored, Math.max(latest, stored + 1));
  }

  /** Marks `records` (stored by the save `commit`) stored on the aggregate, tells its observers and caches it. */
  #committed(reg: Registered, aggregate: Aggregate, records: readonly EventRecord[], commit: string): void {
    const inner = aggregate[internal];
    const errors = inner.committed(records);
    const first = records[0]?.version;
    if (first !== undefined) inner.setStoredBatch({ first, last: first + records.length - 1, commit });
    for (const err of errors) {
      this.#onError(err, { operation: 'observer', aggregateType: reg.type, aggregateId: aggregate.id });
    }
    this.#remember(reg, aggregate);
  }

  /**
   * After a create conflict: did an earlier attempt of this very save land? Then the records
   * it stored: all of `pending`, or — when events were raised after that attempt — the
   * first of them (same commit id, fewer events).
   */
  async #ourEarlierAttempt(
    reg: Registered,
    id: string,
    path: string,
    first: number,
    last: number,
    commit: string,
    pending: Aggregate['pendingEvents'],
  ): Promise<EventRecord[] | undefined> {
    const bytes = await this.#codec.fetch(this.fileSystem, path, 'batch');
    if (bytes === undefined) return undefined;
    const header = this.#codec.batchHeader(path, bytes, { type: reg.type, id, first });
    if (header.commit !== commit || header.last > last) return undefined;
    const batch = await this.#codec.readBatch(path, bytes, { type: reg.type, id, first });
    // Same commit id: the bytes are ours (a prefix of the pending events); keep the caller's event objects.
    return this.#records(reg, id, batch).map((r, i) => ({
      ...r,
      event: (pending[i] as (typeof pending)[number]).event,
    }));
  }

  /** The latest stored version, knowing a batch starting at `known` exists. */
  async #latestVersion(reg: Registered, id: string, known: number): Promise<number> {
    const folder = eventsFolder(reg.type, id);
    let lastName = batchPath(reg.type, id, known);
    for await (const name of this.#guarded.list(folder, { startAfter: lastName })) lastName = name;
    const bytes = await this.#codec.fetch(this.fileSystem, lastName, 'batch');
    if (bytes === undefined) return known;
    return this.#codec.batchHeader(lastName, bytes, { type: reg.type, id }).last;
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
    const maxAttempts = options.maxAttempts ?? 5;
    const backoff = options.backoffMs ?? 5;
    const maxBackoff = options.maxBackoffMs ?? 1000;
    for (let attempt = 1; ; attempt++) {
      const current = options.create
        ? ((await this.find(aggregate, id)) ?? new aggregate(id))
        : await this.get(aggregate, id);
      await command(current);
      try {
        await this.save(current, options.metadata ? { metadata: options.metadata } : {});
        return current;
      } catch (error) {
        if (!isEvsrcError(error, ErrorCode.Concurrency)) throw error;
        if (attempt >= maxAttempts) throw new RetriesExhaustedError(attempt, error as ConcurrencyError);
        await sleep(backoffDelay(attempt, backoff, maxBackoff));
      }
    }
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
    const reg = this.#registered(aggregate);
    const dataKeys = this.#codec.dataKeys;
    if (!dataKeys || !this.#codec.pipeline.writesWithDataKeys) {
      throw new ConfigurationError('forget() needs codec.encryption.perAggregateKeys: true');
    }
    encodeSegment(id);
    this.#cache?.delete(cacheKey(reg.type, id));
    await dataKeys.forget(reg.type, id);
  }

  async #load(reg: Registered, id: string, asOf: AsOf | undefined): Promise<Aggregate | undefined> {
    const bounds = loadBounds(asOf);
    const aggregate = await this.#loadFromStart(reg, id, bounds);
    if (aggregate.version === 0) return undefined;
    if (asOf?.version !== undefined && aggregate.version !== asOf.version) {
      const detail = `version ${asOf.version} does not exist; the latest is ${aggregate.version}`;
      throw new AggregateNotFoundError(reg.type, id, detail);
    }
    if (!bounds.timeTravel) this.#remember(reg, aggregate);
    return aggregate;
  }

  /**
   * The aggregate built from its best starting point — the cached state (current loads
   * only), else the newest snapshot within the bounds that ends a stored batch, else
   * nothing — and the batches after it.
   */
  async #loadFromStart(reg: Registered, id: string, bounds: LoadBounds): Promise<Aggregate> {
    if (!bounds.useSnapshots) return this.#replay(reg, id, new reg.aggregate(id), bounds);
    const cached = bounds.timeTravel ? undefined : this.#cache?.get(cacheKey(reg.type, id));
    if (cached) {
      const aggregate = new reg.aggregate(id);
      aggregate.restoreSnapshot(structuredClone(cached.state));
      aggregate[internal].restored(cached.version, cached.timestamp);
      aggregate[internal].setStoredBatch(cached.batch);
      return this.#replay(reg, id, aggregate, bounds);
    }
    for (const snapshot of await this.#snapshots(reg, id, bounds.toVersion)) {
      const restored = await this.#restore(reg, id, snapshot, bounds.toTime);
      if (!restored) continue;
      try {
        return await this.#replay(reg, id, restored.aggregate, bounds, restored.anchor);
      } catch (error) {
        // A snapshot that does not end a stored batch is derived data gone wrong: report it, rebuild without it.
        if (!(error instanceof MisalignedSnapshotError)) throw error;
        this.#onError(error, { operation: 'snapshot-read', aggregateType: reg.type, aggregateId: id });
      }
    }
    return this.#replay(reg, id, new reg.aggregate(id), bounds);
  }

  /** Applies the batches after the aggregate's version, within the bounds (straight from the decoded batch to applyOn). */
  async #replay(
    reg: Registered,
    id: string,
    aggregate: Aggregate,
    bounds: LoadBounds,
    anchor?: SnapshotAnchor,
  ): Promise<Aggregate> {
    const inner = aggregate[internal];
    if (aggregate.version >= bounds.toVersion) return aggregate;
    const batches = this.#batches(reg, id, aggregate.version, anchor, (batch) => inner.setStoredBatch(batch));
    outer: for await (const batch of batches) {
      const { events, path } = batch;
      const { first, last } = batch.header;
      inner.setStoredBatch({ first, last, commit: batch.header.commit });
      for (let i = 0; i < events.length; i++) {
        const stored = events[i] as StoredEvent;
        const version = first + i;
        if (version > bounds.toVersion || stored.timestamp > bounds.toTime) break outer;
        const event = reg.events.create(stored.type, stored.payload, path, stored.version);
        inner.replay(event, version, stored.timestamp);
      }
    }
    return aggregate;
  }

  /** The aggregate's snapshots up to `toVersion`, newest first. */
  async #snapshots(reg: Registered, id: string, toVersion: number): Promise<{ path: string; version: number }[]> {
    const folder = snapshotsFolder(reg.type, id);
    const found: { path: string; version: number }[] = [];
    for await (const path of this.#guarded.list(folder)) {
      const version = versionInName(path, '.snap');
      if (version !== undefined && version <= toVersion && !path.slice(folder.length).includes('/')) {
        found.push({ path, version });
      }
    }
    return found.reverse();
  }

  /**
   * A new aggregate restored from one snapshot, with what the batches must continue; or
   * `undefined` when it cannot be used (newer than `toTime`, of an unreachable schema, or
   * unreadable: reported).
   */
  async #restore(
    reg: Registered,
    id: string,
    { path, version }: { path: string; version: number },
    toTime: number,
  ): Promise<{ aggregate: Aggregate; anchor: SnapshotAnchor } | undefined> {
    try {
      const bytes = await this.#codec.fetch(this.fileSystem, path, 'snapshot');
      if (bytes === undefined) return undefined;
      const snapshot = await this.#codec.readSnapshot(path, bytes, { type: reg.type, id, version });
      const { header } = snapshot;
      if (header.timestamp > toTime) return undefined;
      // A snapshot of another schema version is upcast when it can be, else ignored (rebuilt from events).
      const schema = header.schema ?? 1;
      if (!reg.snapshotSchema.reaches(schema)) return undefined;
      const aggregate = new reg.aggregate(id);
      const state = reg.snapshotSchema.upcast(snapshot.state, schema, path);
      try {
        aggregate.restoreSnapshot(state);
      } catch (error) {
        if (isEvsrcError(error)) throw error;
        throw new CorruptFileError(path, `restoreSnapshot refused it: ${(error as Error)?.message ?? error}`, error);
      }
      aggregate[internal].restored(version, header.timestamp);
      if (header.batch !== undefined) aggregate[internal].setStoredBatch({ first: header.batch, last: version });
      return {
        aggregate,
        anchor: header.batch === undefined ? { path, version } : { path, version, batch: header.batch },
      };
    } catch (error) {
      // A forgotten aggregate's events are as unreadable as its snapshots: no fallback, no warning.
      if (isEvsrcError(error, ErrorCode.Forgotten)) throw error;
      // Snapshots are derived data: report a bad one and fall back to an older one, or to the events.
      this.#onError(error, { operation: 'snapshot-read', aggregateType: reg.type, aggregateId: id });
      return undefined;
    }
  }

  async #writeSnapshot(reg: Registered, aggregate: Aggregate): Promise<void> {
    const path = snapshotPath(reg.type, aggregate.id, aggregate.storedVersion);
    try {
      const schema = reg.snapshotSchema.current;
      const batch = aggregate[internal].storedBatch();
      const fields = {
        type: reg.type,
        id: aggregate.id,
        version: aggregate.storedVersion,
        timestamp: aggregate.timestamp,
        ...(schema !== 1 ? { schema } : {}),
        ...(batch?.last === aggregate.storedVersion ? { batch: batch.first } : {}),
      };
      const dataKey = await this.#codec.writeKey(reg.type, aggregate.id);
      const bytes = this.#codec.encodeSnapshot(fields, snapshotStateOf(reg.type, aggregate), dataKey);
      await this.#guarded.create(path, bytes);
    } catch (error) {
      if (isEvsrcError(error, ErrorCode.FileExists)) return;
      this.#onError(error, { operation: 'snapshot-write', aggregateType: reg.type, aggregateId: aggregate.id });
    }
  }

  #batches(
    reg: Registered,
    id: string,
    afterVersion: number,
    anchor?: SnapshotAnchor,
    onAnchor?: (batch: StoredBatch) => void,
  ): AsyncGenerator<DecodedBatch> {
    return readBatches({
      fs: this.fileSystem,
      codec: this.#codec,
      type: reg.type,
      id,
      afterVersion,
      concurrency: this.#concurrency,
      ...(anchor ? { anchor } : {}),
      ...(onAnchor ? { onAnchor } : {}),
    });
  }

  #records(reg: Registered, id: string, batch: DecodedBatch): EventRecord[] {
    return batch.events.map((s, i) => ({
      aggregateType: reg.type,
      aggregateId: id,
      version: batch.header.first + i,
      timestamp: s.timestamp,
      type: s.type,
      event: reg.events.create(s.type, s.payload, batch.path, s.version),
      ...(s.eventId !== undefined ? { eventId: s.eventId } : {}),
      ...(s.metadata ? { metadata: s.metadata } : {}),
    }));
  }

  #remember(reg: Registered, aggregate: Aggregate): void {
    if (!this.#cache || aggregate.version !== aggregate.storedVersion) return;
    const key = cacheKey(reg.type, aggregate.id);
    const batch = aggregate[internal].storedBatch();
    if (batch?.last !== aggregate.storedVersion) return;
    try {
      const state = structuredClone(aggregate.toSnapshot());
      this.#cache.set(key, { version: aggregate.storedVersion, timestamp: aggregate.timestamp, state, batch });
    } catch (error) {
      this.#cache.delete(key);
      this.#onError(error, { operation: 'cache', aggregateType: reg.type, aggregateId: aggregate.id });
    }
  }
}

const cacheKey = (type: string, id: string) => `${type}\0${id}`;

/** What a feed intent records of the batch it follows (see `LoggedBatchInfo.after`). */
function followed(previous: StoredBatch | undefined): { after?: number; afterCommit?: string } {
  if (previous === undefined) return {};
  return previous.commit === undefined
    ? { after: previous.first }
    : { after: previous.first, afterCommit: previous.commit };
}

/** The error of a save whose predecessor batch is gone: the store lost data behind the writer's back. */
function lostPredecessor(type: string, id: string, aggregate: Aggregate, cause: unknown): StreamIntegrityError {
  const batch = aggregate[internal].storedBatch() as StoredBatch;
  const missing = (cause as MissingPredecessorError).requires;
  return new StreamIntegrityError('lost', missing, batch.first, batch.last, undefined, {
    cause,
    detail: `${type} ${JSON.stringify(id)} was saved up to version ${batch.last} and this save follows it, but the store no longer holds that batch (a restart that lost recent writes, a deleted file); nothing was saved, the events stay pending — see "When the store loses data" in docs/reference/guarantees.md`,
  });
}

/** `T` with its `readonly` fields writable (for objects built field by field before they are handed out). */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
