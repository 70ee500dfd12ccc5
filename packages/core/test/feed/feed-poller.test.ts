import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InMemoryFileSystem, Repository } from '@evsrc/core';
import { FeedPoller } from '@evsrc/core/internals';
import { TestAccount, testAccountType } from '@evsrc/core/testing';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** An in-memory store that counts how often its notifications are opened and closed. */
class CountingFileSystem extends InMemoryFileSystem {
  opened = 0;
  /** How often each log entry was read and found. */
  readonly entryReads = new Map<string, number>();
  override async read(path: string): Promise<Uint8Array | undefined> {
    const bytes = await super.read(path);
    if (bytes !== undefined && path.endsWith('.entry')) this.entryReads.set(path, (this.entryReads.get(path) ?? 0) + 1);
    return bytes;
  }
  override async watch(folder: string, listener: () => void): Promise<() => Promise<void>> {
    this.opened++;
    return super.watch(folder, listener);
  }
}

describe('the feed poller', () => {
  it('keeps one watch open while a caught-up watcher waits again after each batch, and reads each new entry once', async () => {
    const fs = new CountingFileSystem();
    const repository = new Repository({ fileSystem: fs, aggregates: [testAccountType()], feed: true });
    const seed = new TestAccount('seed');
    seed.open('S');
    await repository.save(seed); // the feed is on (a watcher started before waits for that)
    const from = await repository.feed.head();
    fs.entryReads.clear();
    const stop = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      try {
        for await (const b of repository.feed.watch({ from, signal: stop.signal, pollIntervalMs: 10_000 })) {
          seen.push(b.aggregateId);
          if (seen.length === 10) stop.abort();
        }
      } catch (error) {
        if (!stop.signal.aborted) throw error;
      }
    })();
    for (let i = 0; i < 10; i++) {
      const account = new TestAccount(`a-${i}`);
      account.open('A');
      await repository.save(account);
      // Each batch arrives through the notification (the poll interval is 10 s), so the watcher waits again.
      while (seen.length <= i) await new Promise((r) => setTimeout(r, 1));
    }
    await watching;
    expect(seen).toHaveLength(10);
    expect(fs.opened).toBe(1);
    // The entry the poller found is handed to the watcher, not read again (the seed's: read once, from its checkpoint).
    expect([...fs.entryReads.values()]).toEqual(Array.from({ length: 11 }, () => 1));
    expect(FeedPoller.of(fs).waiting).toBe(0);
  });
});

describe('an aborted watcher', () => {
  it('lets the process exit without waiting for the poll interval (60 s here)', { timeout: 20_000 }, async () => {
    const script = `
      import { InMemoryFileSystem, Repository } from '@evsrc/core';
      import { testAccountType } from '@evsrc/core/testing';
      const repository = new Repository({ fileSystem: new InMemoryFileSystem(), aggregates: [testAccountType()] });
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 50);
      try {
        for await (const _ of repository.feed.watch({ signal: stop.signal, pollIntervalMs: 60_000 })) {}
      } catch {}
      console.log('stopped');
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      timeout: 15_000,
    });
    expect(stdout.trim()).toBe('stopped');
  });
});
