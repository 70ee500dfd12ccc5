/**
 * One writer process of `--feed-scale` (or, in memory, one writer group): `loops`
 * concurrent save loops, each on its own aggregate, saving one event at a time until the
 * time is up. A repository with default settings but the feed.
 *
 * @module
 */
import { type FileSystem, Repository } from '@evsrc/core';
import { Ledger, ledgers } from '../domain.js';

/** The repository's `feed` option for one run: off, on, or on with `partitions` logs. */
export function feedOption(on: boolean, partitions: number | undefined): boolean | { partitions: number } {
  if (!on) return false;
  // `{ partitions: K }` turns the store's feed on with K logs; `feed: true` takes the default K.
  return partitions === undefined ? true : { partitions };
}

/** What one writer process did. */
export interface WriterReport {
  /** Saves made between "go" and the end of its time (the last ones finished after it). */
  readonly saves: number;
  /** From "go" until its last save returned. */
  readonly ms: number;
  /** Unmeasured saves before "ready" (one per loop), which are in the store too. */
  readonly warmUpSaves: number;
}

/** The message a writer child sends its parent. */
export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly report: WriterReport }
  | { readonly type: 'error'; readonly message: string };

/** What the parent tells a writer child: its settings (argv, as JSON), then "go". */
export interface ChildSettings {
  readonly process: number;
  readonly loops: number;
  readonly seconds: number;
  readonly feed: { readonly on: boolean; readonly partitions?: number };
}

/** A writer: warm it up (one save per loop), then run it. */
export class Writer {
  readonly #repo: Repository;
  readonly #ledgers: Ledger[];
  readonly #next: number[];

  constructor(fileSystem: FileSystem, settings: ChildSettings) {
    this.#repo = new Repository({
      fileSystem,
      aggregates: [ledgers()],
      feed: feedOption(settings.feed.on, settings.feed.partitions),
    });
    // Ids unique per process and loop: no two loops ever write the same aggregate.
    this.#ledgers = Array.from(
      { length: settings.loops },
      (_, loop) => new Ledger(`p${String(settings.process).padStart(2, '0')}-l${String(loop).padStart(2, '0')}`),
    );
    this.#next = this.#ledgers.map(() => 0);
  }

  async #save(loop: number): Promise<void> {
    const ledger = this.#ledgers[loop] as Ledger;
    ledger.record(this.#next[loop] as number);
    (this.#next[loop] as number)++;
    await this.#repo.save(ledger);
  }

  /** One save per loop (connections, JIT, the feed's marker, the S3 probe), not counted. */
  async warmUp(): Promise<number> {
    await Promise.all(this.#ledgers.map((_, loop) => this.#save(loop)));
    return this.#ledgers.length;
  }

  /** Every loop saves one event at a time until `seconds` are over. */
  async run(seconds: number, warmUpSaves: number): Promise<WriterReport> {
    const start = performance.now();
    const end = start + seconds * 1000;
    let saves = 0;
    await Promise.all(
      this.#ledgers.map(async (_, loop) => {
        while (performance.now() < end) {
          await this.#save(loop);
          saves++;
        }
      }),
    );
    return { saves, ms: performance.now() - start, warmUpSaves };
  }
}
