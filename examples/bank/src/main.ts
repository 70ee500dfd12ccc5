/**
 * The evsrc demo: a bank account, stored where EVSRC_STORE says — by default the local
 * folder `./.evsrc-data`, which stays there between runs. The same code runs on every
 * backend: `EVSRC_STORE=redis://localhost:6379 pnpm demo`, `EVSRC_STORE=s3://bucket/demo`, …
 */
import { ConcurrencyError } from '@evsrc/core';
import { openRepository, parseStoreUrl } from '@evsrc/store';
import { balances } from './balances.js';
import { BankAccount, bankAccounts, InsufficientFunds } from './bank-account.js';
import { transfer } from './transfer.js';

// feed: true logs every save in the store's change feed, which the balance list (9.) reads.
const repository = await openRepository({ aggregates: [bankAccounts], feed: true });
const { fileSystem } = repository;
const id = `acc-${Date.now()}`;
console.log(`evsrc demo — store: ${parseStoreUrl().display}\n`);

// 1. Create an aggregate through a command, and save it: one batch file.
const account = BankAccount.open(id, 'Ada Lovelace', 100);
account.subscribe((r) => console.log(`  stored  v${r.version} ${r.type} ${JSON.stringify(r.event.toPayload())}`));
account.deposit(250);
await repository.save(account);

// 2. More commands, another batch.
account.withdraw(80);
account.deposit(30);
await repository.save(account);

// 3. Rules live in the aggregate: this withdrawal is refused before anything is stored.
try {
  account.withdraw(1_000);
} catch (error) {
  if (error instanceof InsufficientFunds) console.log(`  refused ${error.message}`);
}

// 4. Load it back from disk.
const loaded = await repository.get(BankAccount, id);
console.log(`\nloaded   ${loaded.id}: owner ${loaded.owner}, balance ${loaded.balance}, version ${loaded.version}`);

// 5. Two writers from the same version: exactly one wins.
const first = await repository.get(BankAccount, id);
const second = await repository.get(BankAccount, id);
first.deposit(1);
second.deposit(2);
await repository.save(first);
try {
  await repository.save(second);
} catch (error) {
  if (error instanceof ConcurrencyError) console.log(`conflict ${error.message}`);
}

// 6. The retry helper reloads and re-runs the command on conflicts.
const retried = await repository.execute(BankAccount, id, (a) => a.deposit(2));
console.log(`retried  balance ${retried.balance}, version ${retried.version}`);

// 7. Time travel.
const past = await repository.get(BankAccount, id, { version: 2 });
console.log(`as of v2 balance ${past.balance}`);

// 8. A transfer between two accounts: two aggregates, two saves, idempotent by its id.
await repository.save(BankAccount.open(`${id}-savings`, 'Ada Lovelace'));
await transfer(repository, `${id}-t1`, id, `${id}-savings`, 50);
await transfer(repository, `${id}-t1`, id, `${id}-savings`, 50); // run again: moves nothing twice
const [checking, savings] = [await repository.get(BankAccount, id), await repository.get(BankAccount, `${id}-savings`)];
console.log(`transfer checking ${checking.balance}, savings ${savings.balance}`);

// 9. A read model: the balance list, a projection of the change feed stored beside the
// accounts. It catches up with every save since its last run (of every run of the demo).
const list = balances(repository);
const handled = await list.catchUp();
for (const account of [id, `${id}-savings`]) {
  const line = list.state[account];
  console.log(`list     ${account}: ${line?.owner}, ${line?.balance}`);
}
console.log(`list     ${handled} new batches handled, checkpoint ${list.checkpoint}`);

// 10. What is on disk: one file per save, named by its first version.
console.log('\nfiles:');
for await (const name of fileSystem.list(`bank-account/${id}/`)) console.log(`  ${name}`);
const firstBatch = await fileSystem.read(`bank-account/${id}/events/000000000001.batch`);
console.log(`\nfirst batch file:\n${new TextDecoder().decode(firstBatch)}`);
await fileSystem.close?.();
