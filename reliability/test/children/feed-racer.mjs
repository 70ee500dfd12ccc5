// One of several processes that write, with the change feed on, at the same time (see
// feed-many-processes.test.ts).
//
//   node feed-racer.mjs <store spec JSON> <process number> <saves> <commands>
//
// Prints "ready" once the store is open, waits for a "go" line on stdin, then runs
// support/feed-race.mjs: saves on its own aggregates and, at the same time, commands on the
// shared one. At the end it prints one line: done <FeedRaceReport as JSON>.
import { createInterface } from 'node:readline';
import { Repository } from '@evsrc/core';
import { Ledger, ledgerType } from '../support/domain.mjs';
import { runFeedRacer } from '../support/feed-race.mjs';
import { closeStore, openStore } from '../support/stores.mjs';

const [specJson, processNumber, savesText, commandsText] = process.argv.slice(2);
const fileSystem = openStore(JSON.parse(specJson));
const repository = new Repository({ fileSystem, aggregates: [ledgerType(10)], cache: true, feed: true });

// Open the store's connections before the start signal, so the processes start together.
await repository.find(Ledger, 'warm-up');
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;
lines.close();

const report = await runFeedRacer(repository, Number(processNumber), Number(savesText), Number(commandsText));
process.stdout.write(`done ${JSON.stringify(report)}\n`);
await closeStore(fileSystem);
