import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  Aggregate,
  aggregateType,
  ChangeEvent,
  FEED_FOLDER,
  type FeedBatch,
  FeedPoller,
  Repository,
} from '@evsrc/core';
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

/** Counts a watcher's calls; `settled()` waits until none came for a while, then resets. */
function counter() {
  const state = { calls: 0 };
  return {
    state,
    listener: () => {
      state.calls++;
    },
    async quiet(ms = 150) {
      for (let last = -1; last !== state.calls; ) {
        last = state.calls;
        await sleep(ms);
      }
      state.calls = 0;
    },
  };
}

class Note extends Aggregate {
  static readonly type = 'note';
  text = '';
  write(text: string): void {
    this.raise(new Written(text));
  }
}
class Written extends ChangeEvent<Note> {
  static readonly type = 'written';
  constructor(readonly text: string) {
    super();
  }
  applyOn(note: Note): void {
    note.text = this.text;
  }
}
const noteType = aggregateType(Note, { events: [Written] });

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

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
    await seen.quiet(); // writes outside the folder (and the temporary files) are not reported
    expect(seen.state.calls).toBe(0);

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
    await seen.quiet();
    expect(seen.state.calls).toBe(0);

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
    await all.quiet();
    expect(all.state.calls).toBe(0);

    await rm(join(root, '.evsrc'), { recursive: true });
    await feed.quiet();
    await fs.create(entry(1), bytes('again'));
    await until(() => feed.state.calls > 0, 5000, 'the folder created again');
    await feed.quiet();
    await fs.create(entry(2), bytes('2'));
    await until(() => feed.state.calls > 0, 5000, 'an entry after the folder came back');
    expect(all.state.calls).toBeGreaterThan(0); // the root watch hears everything under the root
  });

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

  it('delivers a save on one object to a feed watcher on another well before its 60 s poll', async () => {
    const root = await newRoot();
    const fsA = new LocalFileSystem({ root });
    const fsB = new LocalFileSystem({ root });
    const writer = new Repository({ fileSystem: fsA, aggregates: [noteType], feed: true });
    const reader = new Repository({ fileSystem: fsB, aggregates: [noteType] });
    const watches = { count: 0 };
    const watch = fsB.watch.bind(fsB);
    fsB.watch = (folder, listener) => {
      watches.count++;
      return watch(folder, listener);
    };

    const controller = new AbortController();
    const received: Array<{ batch: FeedBatch; at: number }> = [];
    let idle = 0;
    const consuming = (async () => {
      try {
        const batches = reader.feed.watch({
          pollIntervalMs: 60_000,
          signal: controller.signal,
          idle: () => void idle++,
        });
        for await (const batch of batches) received.push({ batch, at: performance.now() });
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    })();

    const rounds = 21;
    const latencies: number[] = [];
    const saves: number[] = [];
    try {
      for (let i = 0; i < rounds; i++) {
        await until(() => idle > i && FeedPoller.of(fsB).waiting === 1, 10_000, 'the watcher to wait');
        const note = new Note(`note-${i}`);
        note.write(`text ${i}`);
        const start = performance.now();
        await writer.save(note);
        saves.push(performance.now() - start);
        await until(
          () => received.length > i,
          5000,
          `batch ${i} (only a file-system event can bring it before the 60 s poll)`,
        );
        latencies.push((received[i]?.at as number) - start);
      }
    } finally {
      controller.abort();
      await consuming;
    }
    expect(received.map((r) => r.batch.aggregateId)).toEqual(Array.from({ length: rounds }, (_, i) => `note-${i}`));
    const report = {
      medianSaveToReceiptMs: Number(median(latencies.slice(1)).toFixed(2)),
      maxSaveToReceiptMs: Number(Math.max(...latencies.slice(1)).toFixed(2)),
      medianSaveMs: Number(median(saves.slice(1)).toFixed(2)),
      firstMs: Number((latencies[0] as number).toFixed(2)),
      watchCalls: watches.count,
    };
    console.log(`fs-local feed notification latency (${rounds - 1} durable saves): ${JSON.stringify(report)}`);
  }, 60_000);
});
