import { specification } from '@evsrc/core/testing';
import { CheckedOut, carts, ItemAdded } from './modelling.js';

const cart = specification(carts);

// given past events, when a command runs, then these events …
await cart
  .given(new ItemAdded('apple', 1))
  .when((c) => c.checkOut())
  .thenEvents(new CheckedOut());

// … or this error, or this state.
await cart
  .given()
  .when((c) => c.checkOut())
  .thenThrows(/empty/);
await cart
  .given(new ItemAdded('apple', 1))
  .when((c) => c.add('apple', 2))
  .thenState((c) => {
    if (c.items[0]?.quantity !== 3) throw new Error('expected 3 apples');
  });
console.log('specifications passed');
