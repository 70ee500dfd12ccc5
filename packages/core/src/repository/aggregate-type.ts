import type { Aggregate, AggregateClass } from '../model/aggregate.js';
import type { ChangeEventClass } from '../model/change-event.js';
import type { EventUpcaster, SnapshotUpcaster } from '../model/upcasting.js';

/** What a snapshot policy is told after each save. */
export interface SnapshotContext {
  /** The aggregate just saved (its pending events are now stored). */
  readonly aggregate: Aggregate;
  /** The stored version before this save. */
  readonly previousVersion: number;
  /** The stored version after this save. */
  readonly version: number;
}

/** Decides after a save whether to write a snapshot of the new state. */
export type SnapshotPolicy = (context: SnapshotContext) => boolean;

/** A policy that snapshots each time the version crosses a multiple of `n`. */
export function everyNEvents(n: number): SnapshotPolicy {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`everyNEvents needs a positive integer, got ${n}`);
  return ({ previousVersion, version }) => Math.floor(version / n) > Math.floor(previousVersion / n);
}

/** How one aggregate type is registered with a repository. */
export interface AggregateRegistration<A extends Aggregate = Aggregate> {
  /** The aggregate class (its static `type` is the stored name). */
  readonly aggregate: AggregateClass<A>;
  /** Every event class the aggregate may raise or find in its files. */
  readonly events: readonly ChangeEventClass[];
  /** When to write snapshots: a policy, or `{ every: n }`. Default: never. */
  readonly snapshots?: SnapshotPolicy | { every: number };
  /** Upcasters of older event payload versions (see `upcastEvent`). Default: none. */
  readonly upcasters?: readonly EventUpcaster[];
  /**
   * Upcasters of older snapshot versions (see `upcastSnapshot`). Default: none — a
   * snapshot older than the class's `snapshotVersion` is ignored and the state rebuilt from the events.
   */
  readonly snapshotUpcasters?: readonly SnapshotUpcaster[];
}

/**
 * Declares an aggregate type with its events and snapshot policy, fully typed.
 *
 * @example
 * ```ts
 * aggregateType(Account, { events: [Opened, Deposited], snapshots: { every: 100 } })
 * ```
 */
export function aggregateType<A extends Aggregate>(
  aggregate: AggregateClass<A>,
  options: Omit<AggregateRegistration<A>, 'aggregate'>,
): AggregateRegistration<A> {
  return { aggregate, ...options };
}
