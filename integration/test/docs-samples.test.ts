import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { documentationPages, ROOT } from './docs-pages.js';
import { node } from './run.js';

const MARKER = /<!-- sample: (\S+) -->\n```ts\n([\s\S]*?)\n```/g;

/** Every ```ts block of README.md and of the pages under docs/, with the sample file it says it is. */
async function blocks(): Promise<{ doc: string; sample: string | undefined; code: string }[]> {
  const docs = ['README.md', ...(await documentationPages()).filter((f) => f.startsWith('docs/'))];
  const out: { doc: string; sample: string | undefined; code: string }[] = [];
  for (const doc of docs) {
    const text = await readFile(join(ROOT, doc), 'utf8');
    const marked = [...text.matchAll(MARKER)];
    for (const m of marked) out.push({ doc, sample: m[1], code: m[2] as string });
    const all = text.match(/```ts\n/g)?.length ?? 0;
    for (let i = marked.length; i < all; i++) out.push({ doc, sample: undefined, code: '' });
  }
  return out;
}

/** The compiled file of a sample, or undefined for a vitest file (vitest runs those). */
function compiled(sample: string): string | undefined {
  if (sample.endsWith('.test.ts')) return undefined;
  if (sample.startsWith('docs/samples/'))
    return join(ROOT, 'docs/dist', sample.slice('docs/samples/'.length).replace(/\.ts$/, '.js'));
  if (sample.startsWith('examples/bank/src/')) {
    return join(ROOT, 'examples/bank/dist', sample.slice('examples/bank/src/'.length).replace(/\.ts$/, '.js'));
  }
  throw new Error(`no compiled form known for ${sample}`);
}

/** The output lines a sample promises: the comment after `console.log(…);` on the same line, in order. */
function promised(source: string): string[] {
  return [...source.matchAll(/console\.log\(.*\);[ \t]*\/\/ (.+)$/gm)].map((m) => (m[1] as string).trim());
}

const servers = inject('servers');

describe('code samples in README.md and docs/', async () => {
  const found = await blocks();

  it('every TypeScript block names its sample file and is exactly that file', async () => {
    expect(found.length).toBeGreaterThan(10);
    for (const block of found) {
      expect(block.sample, `a \`\`\`ts block in ${block.doc} has no <!-- sample: … --> marker`).toBeDefined();
      const source = (await readFile(join(ROOT, block.sample as string), 'utf8')).trimEnd();
      expect(block.code, `${block.doc} shows ${block.sample} as it was; run scripts/sync-doc-samples.py`).toBe(source);
    }
  });

  const samples = [...new Set(found.flatMap((b) => (b.sample ? [b.sample] : [])))];
  for (const sample of samples) {
    const script = compiled(sample);
    if (!script) continue;
    it.skipIf(servers.skipped.length > 0)(`${sample} runs and prints what its comments say`, async () => {
      const cwd = await mkdtemp(join(tmpdir(), 'evsrc-sample-'));
      try {
        const env = {
          REDIS_URL: servers.redisUrl,
          AZURE_STORAGE_CONNECTION_STRING: servers.azureConnectionString,
        };
        const run = await node(script, [], env, cwd);
        expect(run.code, run.stderr).toBe(0);
        const lines = run.stdout.trim().split('\n');
        let at = 0;
        for (const value of promised(await readFile(join(ROOT, sample), 'utf8'))) {
          const found = lines.findIndex((l, i) => i >= at && l.trim() === value);
          expect(found, `${sample} should print "${value}"; it printed:\n${run.stdout}`).toBeGreaterThanOrEqual(0);
          at = found + 1;
        }
      } finally {
        await rm(cwd, { recursive: true, force: true });
      }
    });
  }
});
