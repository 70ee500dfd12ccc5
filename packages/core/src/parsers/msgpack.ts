import { Packr } from 'msgpackr';
import type { StoredEvent } from '../model/event-record.js';
import type { AggregateParser, EventBatchParser, Format } from './parser.js';

// Records (msgpackr's structures) make repeated event shapes compact and fast to decode.
// Every file carries its own record definitions: no shared state between files.
const packr = new Packr({ useRecords: true, moreTypes: false, mapsAsObjects: true, bundleStrings: false });

function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** Stores a batch as MessagePack (via msgpackr): smaller and faster than JSON. */
export const msgpackEventBatchParser: EventBatchParser = {
  name: 'msgpack',
  encode: (events: readonly StoredEvent[]) => encode(events),
  decode,
};

/**
 * Stores a snapshot state as MessagePack. The repository stores only plain data (see
 * `findPayloadProblem`): msgpackr would bring Maps back as plain objects and Sets as arrays.
 */
export const msgpackAggregateParser: AggregateParser = {
  name: 'msgpack',
  encode,
  decode,
};

/** The MessagePack format. */
export const msgpack: Format = { name: 'msgpack', events: msgpackEventBatchParser, snapshots: msgpackAggregateParser };
