import { LocalFileSystem } from '@evsrc/fs-local';
import { describe, expect, it } from 'vitest';
import { evsrc, seed, spawnEvsrc, tempDir } from './helpers.js';

async function files(root: string): Promise<Map<string, string>> {
  const fs = new LocalFileSystem({ root });
  const out = new Map<string, string>();
  for await (const name of fs.list(''))
    out.set(name, Buffer.from((await fs.read(name)) as Uint8Array).toString('base64'));
  return out;
}

describe('evsrc copy', () => {
  it('completes correctly when run again after being killed half-way', { timeout: 120_000 }, async () => {
    const source = await tempDir();
    const target = await tempDir();
    try {
      await seed(new LocalFileSystem({ root: source.dir, durable: false }), 20, 30);
      const all = await files(source.dir);
      const child = spawnEvsrc(['copy', source.dir, target.dir, '--concurrency', '2']);
      await new Promise<void>((resolve, reject) => {
        let err = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          err += chunk.toString();
          const done = [...err.matchAll(/progress: copy (\d+)\/(\d+)/g)].pop();
          if (done && Number(done[1]) >= Number(done[2]) * 0.3) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.on('exit', () => reject(new Error(`copy ended before it could be killed:\n${err}`)));
      });
      await new Promise((r) => child.once('exit', r));
      const partial = await files(target.dir);
      expect(partial.size).toBeGreaterThan(0);
      expect(partial.size).toBeLessThan(all.size);
      for (const [name, bytes] of partial) expect(bytes, name).toBe(all.get(name)); // nothing torn

      const resumed = await evsrc(['copy', source.dir, target.dir]);
      expect(resumed.code).toBe(0);
      expect(resumed.stderr).toContain(`${all.size - partial.size} files, ${partial.size} already there, 0 conflicts`);
      expect(resumed.stderr).toMatch(/verified the destination: 20 aggregates, 0 problems/);
      expect(await files(target.dir)).toEqual(all);
    } finally {
      await source.remove();
      await target.remove();
    }
  });
});
