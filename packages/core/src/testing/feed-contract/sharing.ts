import { expect, it } from 'vitest';
import { Projection } from '../../feed/projection.js';
import { SharedProjection } from '../../feed/shared-projection.js';
import type { Repository } from '../../repository/repository.js';
import type { FileSystem } from '../../storage/file-system.js';
import { collect } from '../collect.js';
import { FaultyFileSystem } from '../faulty-file-system.js';
import type { FeedHarness } from './harness.js';

type Balances = Record<string, number>;

const handle = (state: Balances, batch: { aggregateId: string; events: readonly { event: unknown }[] }) => {
  for (const e of batch.events) {
    const amount = (e.event as { amount?: number }).amount ?? 0;
    state[batch.aggregateId] = (state[batch.aggregateId] ?? 0) + amount;
  }
  return state;
};

const options = (r: Repository, fs: FileSystem) => ({
  feed: r.feed,
  fileSystem: fs,
  name: 'shared-balances',
  saveEvery: 2,
  initialState: (): Balances => ({}),
  handle,
});

async function until(done: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Consumers that share the work: processes divide the partitions, and take a dead one's over. */
export function sharingTests(h: FeedHarness): void {
  const K = h.variant.layout.partitions;
  it(
    'processes running one projection divide the partitions; when one dies mid-partition the others take its partitions over, and every batch counts once',
    async () => {
      const fs = await h.open();
      const writer = h.repo(fs);
      const expected: Balances = {};
      const deposit = async (id: string, amount: number) => {
        await h.deposit(writer, id, amount);
        expected[id] = (expected[id] ?? 0) + amount;
      };
      for (let i = 0; i < 24; i++) await deposit(`g-${i % 12}`, i + 1);
      const leaseMs = 1_000; // well above a round of the protocol on a slow backend (a few requests)
      const members = await Promise.all(
        ['a', 'b', 'c'].map(async (member) => {
          const store = new FaultyFileSystem(await h.other(fs));
          const r = h.repo(store);
          const projection = new SharedProjection<Balances>({ ...options(r, store), leaseMs, member });
          const stop = new AbortController();
          const done = projection.run({ signal: stop.signal, pollIntervalMs: 20 }).catch((e: unknown) => e);
          return { member, store, projection, stop, done };
        }),
      );
      const [a, b, c] = members as [(typeof members)[0], (typeof members)[0], (typeof members)[0]];
      const owned = () => members.map((m) => m.projection.owned);
      // Divided: every partition handled by exactly one process, each process with a share.
      await until(() => {
        const all = owned().flat();
        return all.length === K && new Set(all).size === K && owned().every((o) => o.length > 0);
      }, 'the partitions to be divided');
      // b dies mid-partition: every call it makes from now on hangs (no beat, no store).
      b.store.inject({ fault: 'hang', times: Number.POSITIVE_INFINITY });
      for (let i = 0; i < 12; i++) await deposit(`g-${i}`, 100);
      const killedAt = performance.now();
      await until(() => {
        const all = [...a.projection.owned, ...c.projection.owned];
        return all.length === K && new Set(all).size === K;
      }, "b's partitions to be taken over");
      const takeover = performance.now() - killedAt;
      // Caught up: what a and c stored adds up to every deposit, each once.
      const stored = async () => {
        const states = await new SharedProjection<Balances>(options(writer, fs)).states();
        return Object.assign({}, ...states.values()) as Balances;
      };
      await until(
        async () => JSON.stringify(sortKeys(await stored())) === JSON.stringify(sortKeys(expected)),
        'the states to add up',
      );
      a.stop.abort();
      c.stop.abort();
      b.stop.abort();
      expect(await a.done).toBeUndefined();
      expect(await c.done).toBeUndefined();
      // b wakes up (a long pause, not a death): whatever it stores cannot count a batch twice.
      b.store.clear();
      b.store.release();
      await b.done;
      for (let p = 0; p < K; p++) {
        const one = new Projection<Balances>({ ...options(writer, fs), partition: p });
        await one.catchUp();
        const recount: Balances = {};
        for (const batch of await collect(writer.feed.read({ partitions: [p] }))) handle(recount, batch);
        expect(sortKeys(one.state), `partition ${p}`).toEqual(sortKeys(recount));
      }
      console.log(
        `${h.variant.name}: partitions of a dead process taken over in ${takeover.toFixed(0)} ms (lease ${leaseMs} ms)`,
      );
      expect(takeover).toBeLessThan(20 * leaseMs);
    },
    h.timeout,
  );
}

const sortKeys = (o: Balances) => Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1)));
