// A consumer of the change feed that shares one projection with other processes (see
// feed-consumers-crash.test.ts and feed-many-processes.test.ts), killed with SIGKILL or
// stopped.
//
//   node feed-consumer.mjs <store spec JSON> <member id> <leaseMs> <pollIntervalMs>
//
// Runs support/feed-projection.mjs's projection (events counted per aggregate) as a
// SharedProjection. Prints "ready" once it has joined, then, whenever the partitions it
// handles change, one line:
//
//   owned <member id> <partition,partition,...>
//
// On a "stop" line on stdin it stops (each partition's state stored, its partitions
// released), prints "stopped" and exits.
import { createInterface } from 'node:readline';
import { Repository, SharedProjection } from '@evsrc/core';
import { ledgerType } from '../support/domain.mjs';
import { countsOptions } from '../support/feed-projection.mjs';
import { closeStore, openStore } from '../support/stores.mjs';

const [specJson, member, leaseText, pollText] = process.argv.slice(2);
const fileSystem = openStore(JSON.parse(specJson));
const repository = new Repository({ fileSystem, aggregates: [ledgerType(7)] });
const shared = new SharedProjection({ ...countsOptions(repository, fileSystem), leaseMs: Number(leaseText), member });
const controller = new AbortController();

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'stop') controller.abort();
});

let reported = '';
const report = setInterval(() => {
  const owned = shared.owned.join(',');
  if (owned !== reported) {
    reported = owned;
    process.stdout.write(`owned ${member} ${owned}\n`);
  }
}, 10);

process.stdout.write(`ready ${process.pid}\n`);
try {
  await shared.run({ signal: controller.signal, pollIntervalMs: Number(pollText) });
} catch (error) {
  process.stderr.write(`the shared projection failed: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
}
clearInterval(report);
lines.close();
process.stdout.write('stopped\n');
await closeStore(fileSystem);
