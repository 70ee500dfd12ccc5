import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@evsrc/core';
import * as adapter from '@evsrc/core/adapter';
import * as internals from '@evsrc/core/internals';
import { describe, expect, it } from 'vitest';

/**
 * The public API of `@evsrc/core` and `@evsrc/core/adapter` is a promise (issue 16). Adding a
 * name to either must be a conscious act: list it here and in its section of `api.md`, with
 * one line on what it is. What only storage adapters need goes to `@evsrc/core/adapter`;
 * building blocks for evsrc's own tools go to `@evsrc/core/internals`.
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
  'FEED_START',
  'Feed',
  'FeedIntegrityError',
  'FileExistsError',
  'FileTooLargeError',
  'ForgottenError',
  'InMemoryFileSystem',
  'InvalidIdError',
  'InvalidPathError',
  'InvalidPayloadError',
  'MAX_PAYLOAD_DEPTH',
  'MisplacedFileError',
  'MissingKeyError',
  'MissingPredecessorError',
  'Projection',
  'Repository',
  'SharedProjection',
  'RetriesExhaustedError',
  'StorageError',
  'StreamIntegrityError',
  'TamperedFileError',
  'TimeoutError',
  'UnknownAggregateTypeError',
  'UnknownEventTypeError',
  'UnsupportedFormatError',
  'UpcastError',
  'aggregateType',
  'everyNEvents',
  'findPayloadProblem',
  'isEvsrcError',
  'json',
  'msgpack',
  'readFile',
  'upcastEvent',
  'upcastSnapshot',
  'zstdAvailable',
];

/** The runtime values of `@evsrc/core/adapter`. */
const ADAPTER_VALUES = [
  'FEED_FOLDER',
  'HEAD_CHECK_ABOVE',
  'MAX_PATH_BYTES',
  'MAX_READ_BYTES',
  'READ_HEAD_BYTES',
  'STREAM_HEAD_ABOVE',
  'assertValidPath',
  'assertValidPrefix',
  'checkReadSize',
  'compareNames',
  'openListing',
  'readStreamBody',
  'readUrlParams',
];

/** The port types both `@evsrc/core` and `@evsrc/core/adapter` export (applications pass file systems around). */
const PORT_TYPES = ['CreateOptions', 'FileSystem', 'ListOptions', 'ReadOptions', 'ReplaceOptions'];

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

/**
 * The names a section of `api.md` documents: the list items, `- \`Name\`…`, between its
 * heading `## \`entry\`` and the next `## ` heading.
 */
function documentedNames(entry: string): string[] {
  const page = readFileSync(join(PACKAGE, 'api.md'), 'utf8');
  const sections = page.split(/^(?=## )/m);
  const section = sections.find((text) => text.startsWith(`## \`${entry}\`\n`));
  expect(section, `api.md has a section ## \`${entry}\``).toBeDefined();
  return [...(section as string).matchAll(/^- `(\w+)`/gm)].map((match) => match[1] as string).sort();
}

describe('the public API of @evsrc/core', () => {
  it('exports exactly the listed values', () => {
    expect(Object.keys(core).sort()).toEqual([...PUBLIC_VALUES].sort());
  });

  it('documents every exported name, values and types, in api.md, and nothing else', () => {
    expect(documentedNames('@evsrc/core')).toEqual(exportedNames('index.ts'));
  });

  it('keeps what only storage adapters need out of the main entry', () => {
    const keys = new Set(Object.keys(core));
    for (const name of ADAPTER_VALUES) expect(keys.has(name), name).toBe(false);
    const main = exportedNames('index.ts');
    for (const name of ['Listing', 'UrlParamKind', 'UrlParams']) expect(main, name).not.toContain(name);
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

  it('does not export a name from two entry points, but for the port types', () => {
    const entries = { core, adapter, internals };
    const files = { core: 'index.ts', adapter: 'adapter.ts', internals: 'internals.ts' };
    for (const [a, b] of [
      ['core', 'adapter'],
      ['core', 'internals'],
      ['adapter', 'internals'],
    ] as const) {
      expect(
        Object.keys(entries[a]).filter((name) => name in entries[b]),
        `${a} and ${b}`,
      ).toEqual([]);
      const shared = exportedNames(files[a]).filter((name) => exportedNames(files[b]).includes(name));
      expect(shared, `${a} and ${b}`).toEqual(a === 'core' && b === 'adapter' ? PORT_TYPES : []);
    }
  });
});

describe('the adapter API, @evsrc/core/adapter', () => {
  it('exports exactly the listed values', () => {
    expect(Object.keys(adapter).sort()).toEqual([...ADAPTER_VALUES].sort());
  });

  it('documents every exported name, values and types, in api.md, and nothing else', () => {
    expect(documentedNames('@evsrc/core/adapter')).toEqual(exportedNames('adapter.ts'));
  });

  it('re-exports the port types of the main entry', () => {
    expect(exportedNames('adapter.ts')).toEqual(expect.arrayContaining(PORT_TYPES));
    expect(exportedNames('index.ts')).toEqual(expect.arrayContaining(PORT_TYPES));
  });
});
