import type { StoredEvent } from '../model/event-record.js';
import type { AggregateParser, EventBatchParser, Format } from './parser.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function decodeJson(bytes: Uint8Array): unknown {
  return JSON.parse(decoder.decode(bytes));
}

/** Stores a batch as one JSON array of events: readable with any text tool. */
export const jsonEventBatchParser: EventBatchParser = {
  name: 'json',
  encode: (events: readonly StoredEvent[]) => encodeJson(events),
  decode: decodeJson,
};

/**
 * Stores a snapshot state as JSON. Values JSON cannot hold (Map, Set, Date, bigint, NaN)
 * need `toSnapshot` conversions: the repository refuses them (see `findPayloadProblem`).
 */
export const jsonAggregateParser: AggregateParser = {
  name: 'json',
  encode: encodeJson,
  decode: decodeJson,
};

/** The JSON format: plain text files, the default. */
export const json: Format = { name: 'json', events: jsonEventBatchParser, snapshots: jsonAggregateParser };
