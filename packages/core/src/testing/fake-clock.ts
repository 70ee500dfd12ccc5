/**
 * A clock for tests: time stands still until you move it. Pass `clock.now` as the
 * repository's `clock` to make event timestamps (and time travel) deterministic.
 *
 * @example
 * ```ts
 * const clock = new FakeClock(Date.UTC(2026, 0, 1));
 * const repository = new Repository({ fileSystem, aggregates, clock: clock.now });
 * clock.advance(60_000);
 * ```
 */
export class FakeClock {
  #time: number;

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#time = Number(start);
  }

  /** The current time in ms since the epoch; a bound function, safe to pass around. */
  readonly now = (): number => this.#time;

  /** Moves time forward by `ms` (never backwards). */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance needs a non-negative number, got ${ms}`);
    this.#time += ms;
    return this.#time;
  }

  /** Sets the time. */
  set(time: number | Date): void {
    this.#time = Number(time);
  }
}
