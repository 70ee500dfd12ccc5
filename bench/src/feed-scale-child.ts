/**
 * Writer child of `--feed-scale`, started with an IPC channel:
 * `node feed-scale-child.js SPEC_JSON SETTINGS_JSON`. Opens the store with its own client,
 * warms up, sends `ready`, waits for `go`, saves for the given seconds, sends `done` with
 * its save count, closes its client and exits.
 */
import type { FileSystem } from '@evsrc/core';
import { openStore, type StoreSpec } from './workloads/feed-scale-stores.js';
import { type ChildMessage, type ChildSettings, Writer } from './workloads/feed-scale-writers.js';

const send = (message: ChildMessage) =>
  new Promise<void>((resolve, reject) =>
    (process.send as NonNullable<typeof process.send>)(message, undefined, {}, (error) =>
      error ? reject(error) : resolve(),
    ),
  );

async function main(): Promise<void> {
  const [specJson, settingsJson] = process.argv.slice(2);
  if (specJson === undefined || settingsJson === undefined || !process.send) {
    throw new Error('usage: fork feed-scale-child.js SPEC_JSON SETTINGS_JSON (with an IPC channel)');
  }
  const settings = JSON.parse(settingsJson) as ChildSettings;
  const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
  let fileSystem: FileSystem | undefined;
  try {
    fileSystem = openStore(JSON.parse(specJson) as StoreSpec);
    const writer = new Writer(fileSystem, settings);
    const warmUpSaves = await writer.warmUp();
    await send({ type: 'ready' });
    await go;
    const report = await writer.run(settings.seconds, warmUpSaves);
    await send({ type: 'done', report });
  } catch (error) {
    await send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exitCode = 1;
  } finally {
    await fileSystem?.close?.();
    process.disconnect();
  }
}

await main();
