import { readFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';

const read = (path: string) => readFile(new URL(path, import.meta.url), 'utf8');

describe('README quick start', () => {
  it('is the same code as examples/bank/src/quickstart.ts', async () => {
    const readme = await read('../../../README.md');
    const section = readme.slice(readme.indexOf('## Quick start'));
    const start = section.indexOf('```ts\n') + 6;
    const block = section.slice(start, section.indexOf('\n```', start));
    const source = (await read('../src/quickstart.ts')).split('\n').slice(1).join('\n').trim();
    expect(block.trim()).toBe(source);
  });

  it('runs and prints what the README says it prints', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await import('../src/quickstart.js');
    expect(log.mock.calls).toEqual([[5, 2], [true]]);
    log.mockRestore();
  });
});
