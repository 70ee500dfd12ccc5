import { AggregateNotFoundError, type EncryptionOptions, type FileSystem } from '@evsrc/core';
import { readStoredBatches } from '@evsrc/core/internals';
import type { Output } from '../output.js';

/** Options of {@link show}. */
export interface ShowOptions {
  readonly atVersion?: number;
  readonly json?: boolean;
  /** The keys of an encrypted store. */
  readonly encryption?: EncryptionOptions;
}

/**
 * `evsrc show <url> <type> <id>`: the events of one aggregate, as readable lines or as
 * JSON lines, read as stored (no event classes needed), up to `atVersion`.
 * @throws {AggregateNotFoundError} when it has no events.
 */
export async function show(fs: FileSystem, type: string, id: string, options: ShowOptions, out: Output): Promise<void> {
  const limit = options.atVersion ?? Number.POSITIVE_INFINITY;
  let shown = 0;
  outer: for await (const batch of readStoredBatches(
    fs,
    type,
    id,
    options.encryption ? { encryption: options.encryption } : {},
  )) {
    for (const [i, event] of batch.events.entries()) {
      const version = batch.header.first + i;
      if (version > limit) break outer;
      shown++;
      if (options.json) {
        out.line(JSON.stringify({ aggregateType: type, aggregateId: id, version, ...event }));
      } else {
        const when = new Date(event.timestamp).toISOString();
        const extra = event.metadata ? `  ${JSON.stringify(event.metadata)}` : '';
        out.line(`v${version}  ${when}  ${event.type}  ${JSON.stringify(event.payload)}${extra}`);
      }
    }
  }
  if (shown === 0) throw new AggregateNotFoundError(type, id);
}
