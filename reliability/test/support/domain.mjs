// The aggregate every reliability test writes, in plain JavaScript so that the child
// processes (run by `node`, not by vitest) and the tests share it. Types: domain.d.mts.
import { Aggregate, aggregateType, ChangeEvent } from '@evsrc/core';

const FNV_OFFSET = 0x811c9dc5;

/** Folds one tag into a 32-bit FNV-1a digest (a separator keeps "ab","c" apart from "a","bc"). */
export function fold(digest, tag) {
  let h = digest;
  for (const ch of `${tag}\u0000`) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The digest of a whole list of tags, in order. */
export const digestOf = (tags) => tags.reduce(fold, FNV_OFFSET);

/** A list of unique tags: its state is how many it holds and a digest of them in order. */
export class Ledger extends Aggregate {
  static type = 'ledger';
  count = 0;
  digest = FNV_OFFSET;

  /** Raises one event carrying `tag`. */
  record(tag) {
    this.raise(new Tagged(tag));
  }
}

/** One tag, unique across the whole test. */
export class Tagged extends ChangeEvent {
  static type = 'tagged';

  constructor(tag) {
    super();
    this.tag = tag;
  }

  applyOn(ledger) {
    ledger.count += 1;
    ledger.digest = fold(ledger.digest, this.tag);
  }
}

/** The registration, with a snapshot each time the version crosses a multiple of `every`. */
export const ledgerType = (every) => aggregateType(Ledger, { events: [Tagged], snapshots: { every } });
