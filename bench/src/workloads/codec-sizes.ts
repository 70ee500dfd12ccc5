/**
 * `pnpm bench --codec-sizes`: the W1 data set (one ledger, saves of `w1Batch` events)
 * written with each codec pipeline to the in-memory store, measuring the bytes stored,
 * the write throughput and the replay throughput — the size saved and the CPU cost of
 * each stage, without any I/O in the way.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type CodecOptions, InMemoryFileSystem, Repository, zstdAvailable } from '@evsrc/core';
import { Ledger, ledgers } from '../domain.js';
import type { ParserName, Sizes } from '../options.js';
import { saveRange } from './context.js';

/** One codec pipeline measured with one parser. */
export interface CodecSizeRow {
  readonly parser: ParserName;
  readonly codec: string;
  readonly events: number;
  /** Bytes of every stored file (headers included). */
  readonly bytes: number;
  /** Bytes saved against the plain files of the same parser, in % (0 for plain). */
  readonly savedPercent: number;
  readonly writeEventsPerSecond: number;
  readonly replayEventsPerSecond: number;
}

const key = new Uint8Array(randomBytes(32));
const aes = { keys: { bench: key }, currentKey: 'bench' };

/** The pipelines compared (zstd only where this Node has it). */
export function codecVariants(): [string, CodecOptions | undefined][] {
  const compressions = ['deflate', 'brotli', ...(zstdAvailable() ? ['zstd' as const] : [])] as const;
  return [
    ['none', undefined],
    ...compressions.map((c): [string, CodecOptions] => [c, { compression: c }]),
    ['aes', { encryption: aes }],
    ...compressions.map((c): [string, CodecOptions] => [`${c}+aes`, { compression: c, encryption: aes }]),
    ['deflate+aes per aggregate', { compression: 'deflate', encryption: { ...aes, perAggregateKeys: true } }],
  ];
}

async function storedBytes(fs: InMemoryFileSystem): Promise<number> {
  let total = 0;
  for await (const name of fs.list('')) total += (await fs.read(name))?.byteLength ?? 0;
  return total;
}

/** Measures every pipeline with every parser; best of `rounds` for the timings. */
export async function codecSizes(parsers: readonly ParserName[], sizes: Sizes, rounds = 3): Promise<CodecSizeRow[]> {
  const rows: CodecSizeRow[] = [];
  const events = sizes.w1Events;
  for (const parser of parsers) {
    let plain = 0;
    for (const [label, codec] of codecVariants()) {
      let bytes = 0;
      let writeMs = Number.POSITIVE_INFINITY;
      let replayMs = Number.POSITIVE_INFINITY;
      for (let round = 0; round < rounds; round++) {
        const fileSystem = new InMemoryFileSystem();
        const repo = new Repository({
          fileSystem,
          aggregates: [ledgers()],
          format: parser,
          ...(codec ? { codec } : {}),
        });
        let began = performance.now();
        await saveRange(repo, new Ledger('w1'), 0, events, sizes.w1Batch);
        writeMs = Math.min(writeMs, performance.now() - began);
        bytes = await storedBytes(fileSystem);
        began = performance.now();
        const loaded = await repo.get(Ledger, 'w1');
        replayMs = Math.min(replayMs, performance.now() - began);
        if (loaded.version !== events) throw new Error(`${label}: replayed ${loaded.version} of ${events} events`);
      }
      if (label === 'none') plain = bytes;
      rows.push({
        parser,
        codec: label,
        events,
        bytes,
        savedPercent: plain ? (1 - bytes / plain) * 100 : 0,
        writeEventsPerSecond: events / (writeMs / 1000),
        replayEventsPerSecond: events / (replayMs / 1000),
      });
    }
  }
  return rows;
}

/** The rows as a Markdown table. */
export function codecSizeTable(rows: readonly CodecSizeRow[]): string {
  const int = (n: number) => Math.round(n).toLocaleString('en-US');
  const lines = [
    '| parser | codec | events | bytes stored | saved | write ev/s | replay ev/s |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.parser} | ${r.codec} | ${int(r.events)} | ${int(r.bytes)} | ${r.codec === 'none' ? '—' : `${r.savedPercent.toFixed(0)} %`} | ${int(r.writeEventsPerSecond)} | ${int(r.replayEventsPerSecond)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
