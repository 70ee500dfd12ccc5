import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FEED_FOLDER } from '@evsrc/core/adapter';
import { LocalFileSystem, TEMPORARY_FOLDER } from '@evsrc/fs-local';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const roots: string[] = [];
const stops: Array<() => Promise<void>> = [];
const newRoot = async () => {
  const root = await mkdtemp(join(tmpdir(), 'evsrc-watch-'));
  roots.push(root);
  return root;
};
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

const bytes = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const entry = (position: number) =>
  `${FEED_FOLDER}${String(Math.floor(position / 1000)).padStart(9, '0')}/${String(position).padStart(12, '0')}.entry`;

/** Waits until `condition` holds (polling every 5 ms), or fails after `ms`. */
async function until(condition: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The inotify watches this process holds (Linux: one `inotify wd:` line per watch in the fdinfo of inotify descriptors). */
function inotifyWatches(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fdinfo')) {
    let info: string;
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    count += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
  }
  return count;
}

/** Counts a watcher's calls; `settled()` waits until none came for a while, then resets. */
function counter() {
  const state = { calls: 0 };
  return {
    state,
    listener: () => {
      state.calls++;
    },
    /** Waits until no call came for `ms`; returns the calls since the last reset, and resets. */
    async quiet(ms = 150): Promise<number> {
      for (let last = -1; last !== state.calls; ) {
        last = state.calls;
        await sleep(ms);
      }
      const calls = state.calls;
      state.calls = 0;
      return calls;
    },
  };
}

describe('LocalFileSystem.watch', () => {
  it('hears writes of another file system object and of another process under the folder only, until unwatched', {
    timeout: 30_000,
  }, async () => {
    const root = await newRoot();
    const watcher = new LocalFileSystem({ root, durable: false });
    const writer = new LocalFileSystem({ root, durable: false });
    const seen = counter();
    // The feed folder does not exist yet: its nearest existing parent (the root) is watched.
    const unwatch = await watcher.watch(FEED_FOLDER, seen.listener);
    stops.push(unwatch);

    await writer.create('other/a', bytes('a'));
    await writer.replace('notes.txt', bytes('b'));
    // writes outside the folder (and the temporary files) are not reported
    expect(await seen.quiet()).toBe(0);

    await writer.create(entry(1), bytes('1')); // creates .evsrc/feed/000000000/ on the way
    await until(() => seen.state.calls > 0, 5000, 'the first entry');
    await seen.quiet();
    await writer.create(entry(2), bytes('2'));
    await until(() => seen.state.calls > 0, 5000, 'an entry in a known chunk');
    await seen.quiet();
    await writer.create(entry(1000), bytes('1000')); // a new chunk folder
    await until(() => seen.state.calls > 0, 5000, 'the first entry of a new chunk');
    await seen.quiet();
    await writer.create(entry(1001), bytes('1001')); // in the chunk folder taken in since
    await until(() => seen.state.calls > 0, 5000, 'an entry in the new chunk');
    await seen.quiet();
    await writer.replace(`${FEED_FOLDER}head`, bytes('1001'));
    await until(() => seen.state.calls > 0, 5000, 'a replaced file');
    await seen.quiet();

    // Another process (inotify sees every process's writes; no notify needed).
    const file = join(root, ...entry(1002).split('/'));
    await run(process.execPath, ['-e', `require('node:fs').writeFileSync(${JSON.stringify(file)}, 'x')`]);
    await until(() => seen.state.calls > 0, 5000, "another process's write");
    await seen.quiet();

    await writer.create('other/b', bytes('b'));
    await writer.create(`elsewhere/${FEED_FOLDER}x`, bytes('x')); // the same names, elsewhere
    expect(await seen.quiet()).toBe(0);

    await unwatch();
    await writer.create(entry(3), bytes('3'));
    await sleep(200);
    expect(seen.state.calls).toBe(0);
  });

  it('follows the folder when it is removed and created again, and never reports the temporary files', {
    timeout: 30_000,
  }, async () => {
    const root = await newRoot();
    const fs = new LocalFileSystem({ root, durable: false });
    await fs.create(entry(1), bytes('1'));
    const feed = counter();
    const all = counter();
    stops.push(await fs.watch(FEED_FOLDER, feed.listener));
    stops.push(await fs.watch('', all.listener));

    await writeFile(join(root, TEMPORARY_FOLDER, 'someone.1.x.tmp'), 'partial');
    expect(await all.quiet()).toBe(0);

    await rm(join(root, '.evsrc'), { recursive: true });
    await feed.quiet();
    await fs.create(entry(1), bytes('again'));
    await until(() => feed.state.calls > 0, 5000, 'the folder created again');
    await feed.quiet();
    await fs.create(entry(2), bytes('2'));
    await until(() => feed.state.calls > 0, 5000, 'an entry after the folder came back');
    expect(all.state.calls).toBeGreaterThan(0); // the root watch hears everything under the root
  });

  it.runIf(process.platform === 'linux')(
    "holds a bounded number of watches as the feed grows: only the newest chunk folders' are kept",
    { timeout: 60_000 },
    async () => {
      const root = await newRoot();
      const fs = new LocalFileSystem({ root, durable: false });
      await fs.create(entry(1), bytes('1'));
      const before = inotifyWatches();
      const seen = counter();
      const unwatch = await fs.watch(FEED_FOLDER, seen.listener);
      stops.push(unwatch);
      expect(inotifyWatches() - before).toBe(2); // the feed folder and its one chunk folder

      // 5,000 positions written quickly (five new chunk folders), then 25 more chunk folders.
      const positions = [
        ...Array.from({ length: 4999 }, (_, i) => i + 2),
        ...Array.from({ length: 25 }, (_, i) => (i + 6) * 1000),
      ];
      for (let i = 0; i < positions.length; i += 32) {
        await Promise.all(positions.slice(i, i + 32).map((p) => fs.create(entry(p), bytes(String(p)))));
      }
      await seen.quiet(300);
      // The feed folder and the two newest chunk folders, not one watch per 1,000 positions.
      expect(inotifyWatches() - before).toBe(3);

      // Still hears a write in the newest chunk and a new chunk at once.
      await fs.create(entry(30_001), bytes('x'));
      await until(() => seen.state.calls > 0, 5000, 'an entry in the newest chunk');
      await seen.quiet();
      await fs.create(entry(31_000), bytes('y'));
      await until(() => seen.state.calls > 0, 5000, 'the first entry of a new chunk');
      await seen.quiet();
      await fs.create(entry(31_001), bytes('z'));
      await until(() => seen.state.calls > 0, 5000, 'an entry in the chunk taken in since');
      await seen.quiet();
      expect(inotifyWatches() - before).toBe(3);

      await unwatch();
      expect(inotifyWatches()).toBe(before);
    },
  );

  it('watches a folder whose root does not exist yet, without creating anything', { timeout: 30_000 }, async () => {
    const parent = await newRoot();
    const root = join(parent, 'store', 'deep');
    const fs = new LocalFileSystem({ root, durable: false });
    const seen = counter();
    stops.push(await fs.watch(FEED_FOLDER, seen.listener));
    await sleep(50);
    await expect(mkdir(join(parent, 'store'))).resolves.toBeUndefined(); // the watch created nothing
    await fs.create(entry(7), bytes('7'));
    await until(() => seen.state.calls > 0, 5000, 'an entry under a root created after the watch');
  });
});
