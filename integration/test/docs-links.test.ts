import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentationPages, ROOT } from './docs-pages.js';

/** `[text](target)` outside code blocks and code spans. */
const LINK = /\[[^\]]*\]\(([^)\s]+)\)/g;

/** The page's text with fenced code blocks and code spans blanked out. */
function prose(text: string): string {
  return text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
}

describe('links between README.md, packages/*/README.md and docs/', () => {
  it('every relative markdown link points to an existing file', async () => {
    const pages = await documentationPages();
    expect(pages.length).toBeGreaterThan(15);
    const broken: string[] = [];
    for (const page of pages) {
      for (const m of prose(await readFile(join(ROOT, page), 'utf8')).matchAll(LINK)) {
        const target = m[1] as string;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const path = decodeURIComponent(target.split('#')[0] as string);
        if (!existsSync(join(ROOT, dirname(page), path))) broken.push(`${page}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
