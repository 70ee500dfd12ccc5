import { ConcurrencyError, InMemoryFileSystem, isEvsrcError, Repository } from '@evsrc/core';
import { Cart, carts } from './modelling.js';

const repository = new Repository({ fileSystem: new InMemoryFileSystem(), aggregates: [carts] });
const cart = new Cart('cart-1');
cart.add('apple', 1);
await repository.save(cart);

// Two writers load version 1 and both save: exactly one wins.
const mine = await repository.get(Cart, 'cart-1');
const theirs = await repository.get(Cart, 'cart-1');
mine.add('pear', 1);
theirs.add('plum', 2);
await repository.save(theirs);
try {
  await repository.save(mine);
} catch (error) {
  if (error instanceof ConcurrencyError) {
    console.log(error.expectedVersion, error.actualVersion); // 1 2
    // The loser's event is still pending: nothing is lost, it can retry.
    console.log(mine.pendingEvents.length); // 1
  }
}

// The retry helper: load, run the command, save; on a conflict, all over again.
await repository.execute(Cart, 'cart-1', (c) => c.add('pear', 1), { maxAttempts: 5 });

// Errors have stable codes that survive duplicated package copies.
const missing = await repository.get(Cart, 'nope').catch((e: unknown) => e);
console.log(isEvsrcError(missing, 'EVSRC_AGGREGATE_NOT_FOUND')); // true
