import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The documentation's markdown pages, relative to the root with `/`: README.md,
 * packages/x/README.md and docs/**\/*.md (not docs/api, built by typedoc, nor node_modules).
 */
export async function documentationPages(): Promise<string[]> {
  const packages = (await readdir(join(ROOT, 'packages'), { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => `packages/${d.name}/README.md`);
  const docs: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(join(ROOT, folder), { withFileTypes: true })) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!['node_modules', 'api', 'dist'].includes(entry.name)) await walk(path);
      } else if (entry.name.endsWith('.md')) docs.push(path);
    }
  };
  await walk('docs');
  return ['README.md', ...packages.filter((p) => existsSync(join(ROOT, p))), ...docs.sort()];
}
