import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError, ErrorCode, isEvsrcError } from '../errors.js';
import { ConsumerGroup } from './group.js';
import { Projection, type ProjectionOptions, projectionFolder } from './projection.js';

/** Options of a {@link SharedProjection}. */
export interface SharedProjectionOptions<S> extends Omit<ProjectionOptions<S>, 'partition'> {
  /**
   * How long a process may stay silent before the others take its partitions over, in ms
   * (default 10,000). Processes look at each other every quarter of it: a dead process's
   * partitions are taken over within about 1.5 × `leaseMs`.
   */
  readonly leaseMs?: number;
  /** This process's id in the group (`[a-z0-9-]`, up to 64; default: random). */
  readonly member?: string;
}

interface Worker {
  readonly projection: Projection<unknown>;
  readonly controller: AbortController;
  readonly done: Promise<void>;
  failure?: unknown;
}

/**
 * A projection run by several processes at once: they divide the feed's partitions
 * between them, and when one stops or dies the others take its partitions over. Each
 * partition has its own state and checkpoint, stored together as a {@link Projection}'s
 * (`.evsrc/projections/{name}/p{partition}/`), so each batch reaches its partition's
 * state exactly once whoever handles it. Read the states with {@link states}.
 *
 * The protocol (`docs/reference/feed.md`, "Consumers that share the work") uses only the
 * store's create-if-absent and each process's own clock: heartbeats are new file names,
 * claims of partitions are created at the next epoch, and a process is taken for dead
 * when its heartbeat has not changed for `leaseMs` on the observer's clock.
 */
export class SharedProjection<S> {
  readonly #options: SharedProjectionOptions<S>;
  readonly #leaseMs: number;
  readonly #workers = new Map<number, Worker>();
  #group: ConsumerGroup | undefined;

  constructor(options: SharedProjectionOptions<S>) {
    const leaseMs = options.leaseMs ?? 10_000;
    if (!Number.isFinite(leaseMs) || leaseMs < 20) {
      throw new ConfigurationError(`leaseMs must be at least 20 ms, not ${leaseMs}`);
    }
    this.#options = options;
    this.#leaseMs = leaseMs;
  }

  /** This process's id in the group (known once {@link run} started). */
  get member(): string | undefined {
    return this.#group?.member;
  }

  /** The partitions this process handles now. */
  get owned(): readonly number[] {
    return [...this.#workers.keys()].sort((a, b) => a - b);
  }

  /**
   * Joins the group and handles this process's share of the partitions, following the
   * feed, until `signal` aborts; then stores each partition's state, releases its
   * partitions (the others take them at once) and resolves.
   * @throws what a partition's handler or the store throws (after stopping the others).
   */
  async run(options: { signal?: AbortSignal; pollIntervalMs?: number } = {}): Promise<void> {
    const { signal } = options;
    const partitions = await this.#options.feed.partitions();
    const group = new ConsumerGroup({
      fs: this.#options.fileSystem,
      folder: `${projectionFolder(this.#options.name)}group/`,
      partitions,
      leaseMs: this.#leaseMs,
      ...(this.#options.member !== undefined ? { member: this.#options.member } : {}),
    });
    this.#group = group;
    let failure: unknown;
    try {
      while (!signal?.aborted) {
        await this.#step(group, options.pollIntervalMs);
        await sleep(this.#leaseMs / 4, undefined, signal ? { signal } : {}).catch(() => undefined);
      }
    } catch (error) {
      failure = error;
    }
    const stopped = await Promise.all([...this.#workers.keys()].map((p) => this.#stop(p)));
    await group.leave().catch(() => undefined);
    failure ??= stopped.find((f) => f !== undefined);
    if (failure !== undefined && !signal?.aborted) throw failure;
  }

  /** One round of the group's protocol, and what it decided: partitions started, stopped, handed over. */
  async #step(group: ConsumerGroup, pollIntervalMs: number | undefined): Promise<void> {
    const round = await group.round();
    for (const p of [...this.#workers.keys()]) {
      if (!round.owned.has(p) && !round.handOver.has(p)) await this.#stop(p); // taken over
    }
    for (const [p, member] of round.handOver) {
      await this.#stop(p);
      await group.handOver(p, member);
    }
    for (const p of round.owned) if (!this.#workers.has(p)) this.#start(p, pollIntervalMs);
    for (const worker of this.#workers.values()) if (worker.failure !== undefined) throw worker.failure;
  }

  /** The stored state of every partition (the initial state for a partition never stored). */
  async states(): Promise<Map<number, S>> {
    const out = new Map<number, S>();
    const partitions = await this.#options.feed.partitions();
    for (let p = 0; p < partitions; p++) {
      const projection = new Projection<S>({ ...this.#options, partition: p });
      await projection.load();
      out.set(p, projection.state);
    }
    return out;
  }

  #start(partition: number, pollIntervalMs: number | undefined): void {
    const projection = new Projection<S>({ ...this.#options, partition }) as Projection<unknown>;
    const controller = new AbortController();
    const worker: Worker = {
      projection,
      controller,
      done: projection
        .run({ signal: controller.signal, ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}) })
        .catch((error: unknown) => {
          worker.failure = error;
        }),
    };
    this.#workers.set(partition, worker);
  }

  /** Stops handling `partition` (its state stored); the failure it stopped with, if any. */
  async #stop(partition: number): Promise<unknown> {
    const worker = this.#workers.get(partition);
    if (!worker) return undefined;
    this.#workers.delete(partition);
    worker.controller.abort();
    await worker.done;
    // Another process stored this partition meanwhile (it took it over): nothing is lost.
    if (isEvsrcError(worker.failure, ErrorCode.Concurrency)) return undefined;
    return worker.failure;
  }
}
