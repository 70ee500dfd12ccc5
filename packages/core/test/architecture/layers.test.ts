import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layers of `packages/core/src` (issue 16, "one house"): imports point down only.
 *
 * A file may import from its own top folder, or from a folder of a strictly lower layer.
 * Not from a higher layer, and not from another folder of its own layer: the folders of
 * one layer stay independent of each other (one that needs another gets a layer of its own).
 *
 *  0. `errors.ts`, `util/`: the typed errors and small helpers; import nothing of evsrc.
 *  1. `storage/`: the FileSystem port, paths, read limits, the in-memory file system and
 *     the guard (`storage/guarded.ts`: failures as `StorageError`s naming the path, time-outs);
 *     `format/`: what an evsrc file is (header line + body) and where it lives (layout);
 *     `config/`: store-URL parameters for the adapters. Bytes at paths and the shape of the
 *     files: none of them knows of events.
 *  2. `model/`: events, aggregates, the event registry and upcasting (payload versions).
 *  3. `parsers/`: turn a batch of events (model) into a body and back.
 *  4. `codec/`: compression, encryption and keys around the body; writes the codec header
 *     fields (`CodecFields`, defined in `format/envelope.ts`, re-exported by the pipeline).
 *  5. `feed/`: the change feed, on storage, format and the model.
 *  6. `repository/`: loads and saves aggregates through all of the above.
 *  7. `inspect/`, `testing/`: tools over the repository (listing, stored batches; fakes and
 *     contracts for adapters and users).
 *  8. `index.ts`, `adapter.ts`, `internals.ts`: the package's entry points: the public API,
 *     the stable API for storage adapters (`@evsrc/core/adapter`) and the unstable rest for
 *     evsrc's own tools (`@evsrc/core/internals`).
 *
 * `import type` counts like any import: a type from a higher layer still ties the lower one
 * to its shape (that is how `format/` came to depend on `codec/`), and no type import needs
 * an exemption today. A file of `src` importing the package by name (`@evsrc/core…`) would
 * go around the layers, and counts as a violation too.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'util'],
  ['storage', 'format', 'config'],
  ['model'],
  ['parsers'],
  ['codec'],
  ['feed'],
  ['repository'],
  ['inspect', 'testing'],
  ['index.ts', 'adapter.ts', 'internals.ts'],
];

/**
 * Imports that break the layering knowingly, as `'from/file.ts -> to/file.ts'`, each with a
 * TODO comment naming the move that would remove it. Empty: every violation found when the
 * test was written (feed/codec → repository/storage.ts, format → codec/pipeline.ts,
 * model → codec/upcasting.ts) was fixed by moving code down.
 */
const KNOWN_EXCEPTIONS: ReadonlySet<string> = new Set<string>([]);

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** The top folder of a file under `src` (or the file itself, for files at the top). */
function unit(file: string): string {
  return file.split('/')[0] as string;
}

function layerOf(file: string): number | undefined {
  const found = LAYERS.findIndex((layer) => layer.includes(unit(file)));
  return found === -1 ? undefined : found;
}

interface Import {
  /** The specifier as written. */
  readonly specifier: string;
  readonly typeOnly: boolean;
}

/** The modules a file imports or re-exports, statically or dynamically. */
function importsOf(source: string): Import[] {
  const found: Import[] = [];
  // `import … from '…'` and `export … from '…'`, also over several lines (only at the start
  // of a line, so that examples in doc comments do not count).
  for (const match of source.matchAll(/^[ \t]*(import|export)(\s+type\b)?[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm)) {
    found.push({ specifier: match[3] as string, typeOnly: match[2] !== undefined });
  }
  // `import '…'` for its side effects, and `import('…')`.
  for (const match of source.matchAll(/^[ \t]*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
    found.push({ specifier: (match[1] ?? match[2]) as string, typeOnly: false });
  }
  return found;
}

/** Where a relative specifier of `file` points, as a path under `src`. */
function resolve(file: string, specifier: string): string {
  return posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, '.ts');
}

/** What is wrong with one import of `file` (in layer `from`), if anything. */
function problemWith(
  files: ReadonlyMap<string, string>,
  file: string,
  from: number,
  imported: Import,
): string | undefined {
  const { specifier, typeOnly } = imported;
  if (specifier.startsWith('@evsrc/')) return `${file} -> ${specifier} (the package by name, around the layers)`;
  if (!specifier.startsWith('.')) return undefined;
  const target = resolve(file, specifier);
  if (!files.has(target)) return `${file} -> ${specifier} (not a file of src)`;
  if (unit(target) === unit(file)) return undefined;
  const to = layerOf(target) ?? Number.POSITIVE_INFINITY;
  const line = `${file} -> ${target}`;
  if (to < from || KNOWN_EXCEPTIONS.has(line)) return undefined;
  return `${line} (${to === from ? 'same layer' : 'higher layer'}${typeOnly ? ', type only' : ''})`;
}

/**
 * The imports of `files` (path under `src`, with `/` → source) that break the layering, as
 * `'from -> to (why)'` lines, and the files in no layer.
 */
function layerViolations(files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const [file, source] of files) {
    const from = layerOf(file);
    if (from === undefined) {
      problems.push(`${file}: in no layer (add its top folder to LAYERS)`);
      continue;
    }
    for (const imported of importsOf(source)) {
      const problem = problemWith(files, file, from, imported);
      if (problem !== undefined) problems.push(problem);
    }
  }
  return problems.sort();
}

function sourceFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(SRC, { recursive: true, encoding: 'utf8' })) {
    if (name.endsWith('.ts')) files.set(name.split(sep).join('/'), readFileSync(join(SRC, name), 'utf8'));
  }
  return files;
}

describe('the layers of packages/core/src', () => {
  it('has imports that point down only', () => {
    const files = sourceFiles();
    expect(files.size).toBeGreaterThan(40);
    expect(layerViolations(files)).toEqual([]);
  });

  it('lists known exceptions only while they still occur', () => {
    const files = sourceFiles();
    for (const line of KNOWN_EXCEPTIONS) {
      const [from, to] = line.split(' -> ') as [string, string];
      const imported = importsOf(files.get(from) ?? '').map(({ specifier }) => resolve(from, specifier));
      expect(imported, line).toContain(to);
    }
  });

  it('reports imports from a higher layer, from the same layer and around the layers', () => {
    const files = new Map([
      ['errors.ts', ''],
      ['storage/guarded.ts', "import { StorageError } from '../errors.js';"],
      ['format/envelope.ts', "import type {\n  CodecFields,\n} from '../codec/pipeline.js';"],
      ['codec/pipeline.ts', "import { storage } from '../storage/guarded.js';\nexport * from './keys.js';"],
      ['codec/keys.ts', "export { x } from '../repository/storage.js';"],
      ['repository/storage.ts', "const config = await import('../config/url-params.js');"],
      ['config/url-params.ts', "import '../format/envelope.js';"],
      ['feed/feed.ts', "import { Repository } from '@evsrc/core';\n * import { y } from '../repository/storage.js';"],
      ['feed/writer.ts', "import { gone } from './missing.js';"],
      ['extra/thing.ts', ''],
    ]);
    expect(layerViolations(files)).toEqual([
      'codec/keys.ts -> repository/storage.ts (higher layer)',
      'config/url-params.ts -> format/envelope.ts (same layer)',
      'extra/thing.ts: in no layer (add its top folder to LAYERS)',
      'feed/feed.ts -> @evsrc/core (the package by name, around the layers)',
      'feed/writer.ts -> ./missing.js (not a file of src)',
      'format/envelope.ts -> codec/pipeline.ts (higher layer, type only)',
    ]);
  });
});
