/**
 * What the raw baselines use instead of evsrc: the same file format (one JSON header line,
 * then the body) and the same parsers (`JSON`, msgpackr with evsrc's options), written
 * out by hand — no evsrc code, no checks, no event objects.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import type { PlainEvent } from '../domain.js';

/** The two parsers, as a raw user of each library would call them. */
export interface RawParser {
  readonly name: 'json' | 'msgpack';
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

// The options evsrc's MessagePack format uses, so both sides write the same bytes.
const packr = new Packr({ useRecords: true, moreTypes: false, mapsAsObjects: true, bundleStrings: false });

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export const rawParsers: Readonly<Record<RawParser['name'], RawParser>> = {
  json: {
    name: 'json',
    encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
    decode: (bytes) => JSON.parse(asBuffer(bytes).toString('utf8')),
  },
  msgpack: {
    name: 'msgpack',
    encode: (value) => packr.pack(value),
    decode: (bytes) => packr.unpack(bytes),
  },
};

/**
 * Joins a header line and a body, as evsrc files are: the header ends with the body's
 * length and CRC-32, then `hcrc32`, the CRC-32 of the header line before it.
 */
function fileBytes(header: Record<string, unknown>, body: Uint8Array): Uint8Array {
  const covered = JSON.stringify({ evsrc: 1, ...header, bytes: body.byteLength, crc32: crc32(body) }).slice(0, -1);
  const head = Buffer.from(`${covered},"hcrc32":${crc32(Buffer.from(covered))}}\n`);
  return Buffer.concat([head, body]);
}

/** The bytes of a batch file holding `events` as versions `first`.. of `type`/`id`. */
export function batchFile(
  parser: RawParser,
  type: string,
  id: string,
  first: number,
  events: PlainEvent[],
): Uint8Array {
  const header = { kind: 'batch', parser: parser.name, type, id, first, last: first + events.length - 1 };
  return fileBytes({ ...header, commit: randomUUID() }, parser.encode(events));
}

/** The bytes of a snapshot file of `state` after `version`. */
export function snapshotFile(
  parser: RawParser,
  type: string,
  id: string,
  version: number,
  timestamp: number,
  state: unknown,
): Uint8Array {
  const header = { kind: 'snapshot', parser: parser.name, type, id, version, timestamp };
  return fileBytes(header, parser.encode(state));
}

/** Splits a file into its parsed header and its body (no checks). */
export function splitFile(bytes: Uint8Array): { header: Record<string, unknown>; body: Uint8Array } {
  const end = bytes.indexOf(0x0a);
  const header = JSON.parse(asBuffer(bytes.subarray(0, end)).toString('utf8')) as Record<string, unknown>;
  return { header, body: bytes.subarray(end + 1) };
}

const pad = (version: number) => String(version).padStart(12, '0');

/** evsrc's layout, spelled out (types and ids here are already safe path segments). */
export const layout = {
  events: (type: string, id: string) => `${type}/${id}/events/`,
  snapshots: (type: string, id: string) => `${type}/${id}/snapshots/`,
  batch: (type: string, id: string, first: number) => `${type}/${id}/events/${pad(first)}.batch`,
  snapshot: (type: string, id: string, version: number) => `${type}/${id}/snapshots/${pad(version)}.snap`,
};
