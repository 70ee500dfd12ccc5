// A writer that is killed with SIGKILL at a random moment (see crash-safety.test.ts).
//
//   node crash-writer.mjs <store spec JSON> <writer number> <seed> [saves]
//
// Several aggregates, each saved by its own loop, so that several saves are in flight at
// once; batches of varying sizes; a snapshot every 7 versions. After each save resolves it
// prints one line on stdout (written synchronously: stdout is a pipe):
//
//   ack <aggregate id> <first version> <last version> <tag,tag,...>
//
// Without [saves] it saves until it is killed; with it, each loop does that many saves and
// the process exits normally.
import { Repository } from '@evsrc/core';
import { seededRandom } from '@evsrc/core/testing';
import { Ledger, ledgerType } from '../support/domain.mjs';
import { closeStore, openStore } from '../support/stores.mjs';

const AGGREGATES = ['ledger-0', 'ledger-1', 'ledger-2', 'ledger-3'];
/** Mostly small batches, now and then a large one (a bigger file takes longer to write). */
const BATCH_SIZES = [1, 1, 1, 2, 2, 3, 4, 5, 8, 13, 60];

const [specJson, writer, seedText, savesText] = process.argv.slice(2);
const spec = JSON.parse(specJson);
const saves = savesText === undefined ? Number.POSITIVE_INFINITY : Number(savesText);

const random = seededRandom(Number(seedText)); // replayable by its seed

const fileSystem = openStore(spec);
const repository = new Repository({
  fileSystem,
  aggregates: [ledgerType(7)],
  onError: (error, context) => {
    // A snapshot that fails is not an error of the save, but nothing here should fail.
    process.stderr.write(`background ${context.operation} failed: ${error}\n`);
  },
});

let tagCount = 0;
async function loop(id) {
  const ledger = (await repository.find(Ledger, id)) ?? new Ledger(id);
  for (let s = 0; s < saves; s++) {
    const size = BATCH_SIZES[Math.floor(random() * BATCH_SIZES.length)];
    const tags = [];
    for (let i = 0; i < size; i++) {
      const tag = `w${writer}-${tagCount++}`;
      tags.push(tag);
      ledger.record(tag);
    }
    const first = ledger.storedVersion + 1;
    await repository.save(ledger);
    process.stdout.write(`ack ${id} ${first} ${ledger.storedVersion} ${tags.join(',')}\n`);
  }
}

process.stdout.write(`ready ${process.pid}\n`);
await Promise.all(AGGREGATES.map(loop));
await closeStore(fileSystem);
