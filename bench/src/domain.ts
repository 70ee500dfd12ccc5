/**
 * The benchmark's domain: a stock ledger whose events are realistic order lines (a few
 * strings and numbers, about 150 bytes each as JSON once stored).
 *
 * @module
 */
import { Aggregate, type AggregateRegistration, aggregateType, ChangeEvent, type SnapshotPolicy } from '@evsrc/core';

/** The data of one event: what evsrc stores as its payload, and what the raw baselines encode. */
export interface Line {
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly warehouse: string;
}

/** An event as stored inside a batch file (evsrc's `StoredEvent`), built by hand for the raw baselines. */
export interface PlainEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly payload: Line;
}

const NAMES = ['Blue widget', 'Steel bracket', 'Oak shelf', 'LED strip 5m', 'Cable ties', 'Hex bolt M8'];
const WAREHOUSES = ['ams-1', 'fra-2', 'lon-1', 'par-3'];

/** The `i`-th line of a deterministic, varied stream. */
export function line(i: number): Line {
  return {
    sku: `SKU-${String((i * 7919) % 1_000_000).padStart(6, '0')}`,
    name: NAMES[i % NAMES.length] as string,
    quantity: 1 + (i % 9),
    unitPrice: 199 + ((i * 37) % 10_000),
    warehouse: WAREHOUSES[i % WAREHOUSES.length] as string,
  };
}

/** Every tenth event is a return, the others are additions. */
export const eventType = (i: number): string => (i % 10 === 9 ? ItemReturned.type : ItemAdded.type);

/** The stored form of the `i`-th event, as a raw baseline builds it. */
export function plainEvent(i: number, timestamp: number): PlainEvent {
  return { type: eventType(i), timestamp, payload: line(i) };
}

/** The ledger of one stock location: counts lines, units and value. */
export class Ledger extends Aggregate {
  static readonly type = 'ledger';
  lines = 0;
  units = 0;
  value = 0;

  /** Records the `i`-th line of the stream. */
  record(i: number): void {
    const data = line(i);
    this.raise(i % 10 === 9 ? new ItemReturned(data) : new ItemAdded(data));
  }
}

abstract class LineEvent extends ChangeEvent<Ledger> {
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly warehouse: string;

  constructor(data: Line) {
    super();
    this.sku = data.sku;
    this.name = data.name;
    this.quantity = data.quantity;
    this.unitPrice = data.unitPrice;
    this.warehouse = data.warehouse;
  }
}

export class ItemAdded extends LineEvent {
  static readonly type = 'item-added';
  applyOn(ledger: Ledger): void {
    ledger.lines += 1;
    ledger.units += this.quantity;
    ledger.value += this.quantity * this.unitPrice;
  }
}

export class ItemReturned extends LineEvent {
  static readonly type = 'item-returned';
  applyOn(ledger: Ledger): void {
    ledger.lines += 1;
    ledger.units -= this.quantity;
    ledger.value -= this.quantity * this.unitPrice;
  }
}

/** The registration of the ledger, with an optional snapshot policy. */
export function ledgers(snapshots?: SnapshotPolicy): AggregateRegistration<Ledger> {
  return aggregateType(Ledger, { events: [ItemAdded, ItemReturned], ...(snapshots ? { snapshots } : {}) });
}

/** A snapshot policy that writes exactly one snapshot: on the save that reaches `version`. */
export const snapshotAt =
  (version: number): SnapshotPolicy =>
  (context) =>
    context.previousVersion < version && context.version >= version;

/** The state a raw baseline stores in its snapshot (what `Ledger.toSnapshot()` gives). */
export function ledgerState(events: number): { lines: number; units: number; value: number } {
  let units = 0;
  let value = 0;
  for (let i = 0; i < events; i++) {
    const l = line(i);
    const sign = i % 10 === 9 ? -1 : 1;
    units += sign * l.quantity;
    value += sign * l.quantity * l.unitPrice;
  }
  return { lines: events, units, value };
}
