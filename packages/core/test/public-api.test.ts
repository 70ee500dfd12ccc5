import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@evsrc/core';
import * as internals from '@evsrc/core/internals';
import { describe, expect, it } from 'vitest';

/**
 * The public API of `@evsrc/core` is a promise (issue 16). Adding a name to it must be a
 * conscious act: list it here and in `api.md`, with one line on what it is. Building blocks
 * for evsrc's own tools go to `@evsrc/core/internals` instead.
 */
const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The runtime values of `@evsrc/core` (types leave no trace at runtime: see `api.md`). */
const PUBLIC_VALUES = [
  'Aggregate',
  'AggregateNotFoundError',
  'ChangeEvent',
  'ConcurrencyError',
  'ConfigurationError',
  'CorruptFileError',
  'ErrorCode',
  'EvsrcError',
  'FEED_FOLDER',
  'FEED_START',
  'Feed',
  'FeedIntegrityError',
  'FileExistsError',
  'FileTooLargeError',
  'ForgottenError',
  'HEAD_CHECK_ABOVE',
  'InMemoryFileSystem',
  'InvalidIdError',
  'InvalidPathError',
  'InvalidPayloadError',
  'MAX_PAYLOAD_DEPTH',
  'MAX_PATH_BYTES',
  'MAX_READ_BYTES',
  'MisplacedFileError',
  'MissingKeyError',
  'MissingPredecessorError',
  'Projection',
  'READ_HEAD_BYTES',
  'Repository',
  'SharedProjection',
  'RetriesExhaustedError',
  'STREAM_HEAD_ABOVE',
  'StorageError',
  'StreamIntegrityError',
  'TamperedFileError',
  'TimeoutError',
  'UnknownAggregateTypeError',
  'UnknownEventTypeError',
  'UnsupportedFormatError',
  'UpcastError',
  'aggregateType',
  'assertValidPath',
  'assertValidPrefix',
  'checkReadSize',
  'compareNames',
  'everyNEvents',
  'findPayloadProblem',
  'isEvsrcError',
  'json',
  'msgpack',
  'openListing',
  'readFile',
  'readStreamBody',
  'readUrlParams',
  'upcastEvent',
  'upcastSnapshot',
  'zstdAvailable',
];

/** Every name (values and types) the source of an entry point exports. */
function exportedNames(file: string): string[] {
  const source = readFileSync(join(PACKAGE, 'src', file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  expect(source, `${file} must list its exports (no export *)`).not.toMatch(/export \*/);
  const names: string[] = [];
  for (const match of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of (match[1] as string).split(',')) {
      const name = item.trim().replace(/^type\s+/, '');
      if (name !== '') names.push(name);
    }
  }
  return names.sort();
}

/** The names `api.md` documents: its list items, `- \`Name\`…`. */
function documentedNames(): string[] {
  const page = readFileSync(join(PACKAGE, 'api.md'), 'utf8');
  return [...page.matchAll(/^- `(\w+)`/gm)].map((match) => match[1] as string).sort();
}

describe('the public API of @evsrc/core', () => {
  it('exports exactly the listed values', () => {
    expect(Object.keys(core).sort()).toEqual([...PUBLIC_VALUES].sort());
  });

  it('documents every exported name, values and types, in api.md, and nothing else', () => {
    expect(documentedNames()).toEqual(exportedNames('index.ts'));
  });

  it('keeps the building blocks of the tools out of the main entry', () => {
    const keys = new Set(Object.keys(core));
    for (const name of [
      'FeedWriter',
      'FeedPoller',
      'findHead',
      'discoverHead',
      'encodeEntry',
      'decodeEntry',
      'readEntry',
      'chunkFolder',
      'CodecPipeline',
      'needsDataKey',
      'DataKeys',
      'FileCodec',
      'mapOrdered',
      'backoffDelay',
      'preview',
    ]) {
      expect(keys.has(name), name).toBe(false);
      expect(name in internals, name).toBe(true);
    }
  });

  it('does not export a name from both entry points', () => {
    const both = Object.keys(internals).filter((name) => name in core);
    expect(both).toEqual([]);
    const bothTypes = exportedNames('internals.ts').filter((name) => exportedNames('index.ts').includes(name));
    expect(bothTypes).toEqual([]);
  });
});
