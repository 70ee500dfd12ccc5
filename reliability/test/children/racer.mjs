// One of several processes that run commands on the same aggregate at the same time
// (see many-processes.test.ts).
//
//   node racer.mjs <store spec JSON> <process number> <commands>
//
// Prints "ready" once the store is open, waits for a "go" line on stdin, then runs its
// commands one after the other with the repository's retry helper; each command tags its
// event with a tag no other command uses. At the end it prints one line:
//
//   done {"ok":[tags],"failed":[{"tag","code","message"}],"attempts":n,"okAfterRetry":n,"mostAttempts":n,"slowest":ms,"ms":n}
import { createInterface } from 'node:readline';
import { Repository } from '@evsrc/core';
import { Ledger, ledgerType } from '../support/domain.mjs';
import { closeStore, openStore } from '../support/stores.mjs';

const [specJson, processNumber, commandsText] = process.argv.slice(2);
const fileSystem = openStore(JSON.parse(specJson));
// With the cache, a load reads only the batches newer than the state it remembers; a conflict
// evicts the entry, and the next load starts again from the newest snapshot.
const repository = new Repository({ fileSystem, aggregates: [ledgerType(10)], cache: true });
const commands = Number(commandsText);

// A command that still conflicts after 10 attempts gives up (RetriesExhausted): its event
// must then not be stored. (More attempts would not help: the helper's back-off doubles
// with each attempt, without a ceiling, so a long losing streak sleeps for seconds.)
const options = { create: true, maxAttempts: 10, backoffMs: 2 };

// Open the store's connections before the start signal, so the processes start together.
await repository.find(Ledger, 'warm-up');
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;
lines.close();

const ok = [];
const failed = [];
let attempts = 0;
let mostAttempts = 0;
let okAfterRetry = 0;
let slowest = 0;
const started = Date.now();
for (let i = 0; i < commands; i++) {
  const tag = `p${processNumber}-${i}`;
  const before = attempts;
  const at = Date.now();
  try {
    await repository.execute(
      Ledger,
      'race',
      (ledger) => {
        attempts++;
        ledger.record(tag);
      },
      options,
    );
    ok.push(tag);
    if (attempts - before > 1) okAfterRetry++;
  } catch (error) {
    failed.push({ tag, code: error?.code, message: String(error?.message ?? error) });
  }
  mostAttempts = Math.max(mostAttempts, attempts - before);
  slowest = Math.max(slowest, Date.now() - at);
}
const ms = Date.now() - started;
process.stdout.write(`done ${JSON.stringify({ ok, failed, attempts, okAfterRetry, mostAttempts, slowest, ms })}\n`);
await closeStore(fileSystem);
