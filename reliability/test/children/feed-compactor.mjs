// A compactor of the change feed, killed with SIGKILL at random moments (see
// feed-consumers-crash.test.ts).
//
//   node feed-compactor.mjs <store spec JSON> <seed>
//
// Compacts the store's feed (`compactFeed`, every partition, up to its head) again and
// again, with a pause of 0 to 20 ms between passes, and after each pass prints one line:
//
//   compacted <entries emptied> <segments written> <entries left undecided>
//
// On a "stop" line on stdin it ends after the pass in progress, prints "stopped" and exits.
import { createInterface } from 'node:readline';
import { compactFeed } from '@evsrc/core/internals';
import { seededRandom } from '@evsrc/core/testing';
import { closeStore, openStore } from '../support/stores.mjs';

const [specJson, seedText] = process.argv.slice(2);
const fileSystem = openStore(JSON.parse(specJson));
const random = seededRandom(Number(seedText));
let stopping = false;
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'stop') stopping = true;
});

process.stdout.write(`ready ${process.pid}\n`);
try {
  while (!stopping) {
    const done = await compactFeed(fileSystem);
    process.stdout.write(`compacted ${done.entries} ${done.segments} ${done.undecided}\n`);
    await new Promise((resolve) => setTimeout(resolve, random() * 20));
  }
} catch (error) {
  process.stderr.write(`compaction failed: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
}
lines.close();
process.stdout.write('stopped\n');
await closeStore(fileSystem);
