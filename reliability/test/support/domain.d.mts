import { Aggregate, type AggregateRegistration, ChangeEvent } from '@evsrc/core';

/** Folds one tag into a 32-bit FNV-1a digest. */
export declare function fold(digest: number, tag: string): number;
/** The digest of a whole list of tags, in order. */
export declare function digestOf(tags: readonly string[]): number;

/** A list of unique tags: its state is how many it holds and a digest of them in order. */
export declare class Ledger extends Aggregate {
  static readonly type: 'ledger';
  count: number;
  digest: number;
  /** Raises one event carrying `tag`. */
  record(tag: string): void;
}

/** One tag, unique across the whole test. */
export declare class Tagged extends ChangeEvent<Ledger> {
  static readonly type: 'tagged';
  readonly tag: string;
  constructor(tag: string);
  applyOn(ledger: Ledger): void;
}

/** The registration, with a snapshot each time the version crosses a multiple of `every`. */
export declare function ledgerType(every: number): AggregateRegistration<Ledger>;
