import { Aggregate, aggregateType, ChangeEvent, ConcurrencyError, InMemoryFileSystem, Repository } from '@evsrc/core';

// 1. An aggregate: state changes only through events.
class Counter extends Aggregate {
  static readonly type = 'counter';
  value = 0;
  add(n: number) {
    if (n <= 0) throw new RangeError('n must be positive');
    this.raise(new Added(n));
  }
}

// 2. Its events: a stored type name, public data fields, and how each one moves the state.
class Added extends ChangeEvent<Counter> {
  static readonly type = 'added';
  constructor(readonly n: number) {
    super();
  }
  applyOn(counter: Counter) {
    counter.value += this.n;
  }
}

// 3. A repository over a file system (in memory here; see below for local disk and others).
const repository = new Repository({
  fileSystem: new InMemoryFileSystem(),
  aggregates: [aggregateType(Counter, { events: [Added], snapshots: { every: 100 } })],
});

// 4. Save: all pending events go into one new batch file.
const counter = new Counter('c-1');
counter.add(2);
counter.add(3);
await repository.save(counter);

// 5. Load: snapshot (if any) + later batches, checked to be contiguous.
const loaded = await repository.get(Counter, 'c-1');
console.log(loaded.value, loaded.version); // 5 2

// 6. Two writers from the same version: one wins, the other gets a ConcurrencyError.
const a = await repository.get(Counter, 'c-1');
const b = await repository.get(Counter, 'c-1');
a.add(1);
b.add(1);
await repository.save(a);
await repository.save(b).catch((e) => console.log(e instanceof ConcurrencyError)); // true

// 7. Or let the retry helper reload, re-run and save.
await repository.execute(Counter, 'c-1', (c) => c.add(1));
