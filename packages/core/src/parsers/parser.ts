import type { StoredEvent } from '../model/event-record.js';

/**
 * Turns the events of one batch into bytes and back. The name is written into every
 * file's header, so a store can hold files of several parsers and read them all.
 *
 * `decode` may throw anything on bad bytes: the repository wraps it into a
 * `CorruptFileError` naming the file. It must never evaluate code from the bytes.
 */
export interface EventBatchParser {
  /** Stored in file headers; lowercase letters, digits and `-`. */
  readonly name: string;
  /** Encodes the events of a batch. */
  encode(events: readonly StoredEvent[]): Uint8Array;
  /** Decodes what `encode` produced; the repository validates the shape of the result. */
  decode(bytes: Uint8Array): unknown;
}

/** Turns an aggregate's snapshot state (plain data from `Aggregate.toSnapshot`) into bytes and back. */
export interface AggregateParser {
  /** Stored in file headers; lowercase letters, digits and `-`. */
  readonly name: string;
  /** Encodes a snapshot state. */
  encode(state: unknown): Uint8Array;
  /** Decodes what `encode` produced. */
  decode(bytes: Uint8Array): unknown;
}

/** A matching pair of parsers, chosen as a store's format. */
export interface Format {
  /** The format's name (equal to both parsers' names for the built-in ones). */
  readonly name: string;
  readonly events: EventBatchParser;
  readonly snapshots: AggregateParser;
}
