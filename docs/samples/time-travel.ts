import { InMemoryFileSystem, Repository } from '@evsrc/core';
import { FakeClock } from '@evsrc/core/testing';
import { Cart, carts } from './modelling.js';

const clock = new FakeClock(Date.UTC(2026, 10, 1));
const repository = new Repository({ fileSystem: new InMemoryFileSystem(), aggregates: [carts], clock: clock.now });

const cart = new Cart('c');
cart.add('apple', 1);
await repository.save(cart); // version 1, 2026-11-01
clock.advance(24 * 3600_000);
cart.add('pear', 2);
cart.checkOut();
await repository.save(cart); // versions 2-3, 2026-11-02

console.log((await repository.get(Cart, 'c', { version: 1 })).items.length); // 1
console.log((await repository.get(Cart, 'c', { timestamp: new Date('2026-11-01T23:59:59Z') })).checkedOut); // false
console.log((await repository.get(Cart, 'c', { timestamp: new Date('2026-11-02T00:00:00Z') })).checkedOut); // true
