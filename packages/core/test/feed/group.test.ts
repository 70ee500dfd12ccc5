import { InMemoryFileSystem } from '@evsrc/core';
import { ConsumerGroup } from '@evsrc/core/internals';
import { describe, expect, it } from 'vitest';

/** Members of one group on one store, each with its own clock (only elapsed time on one clock is compared). */
function members(fs: InMemoryFileSystem, ids: string[], clocks: Record<string, { t: number }>) {
  return Object.fromEntries(
    ids.map((member) => {
      clocks[member] = { t: 0 };
      const group = new ConsumerGroup({
        fs,
        folder: '.evsrc/projections/p/group/',
        partitions: 4,
        member,
        leaseMs: 1000,
        now: () => (clocks[member] as { t: number }).t,
      });
      return [member, group];
    }),
  ) as Record<string, ConsumerGroup>;
}

const sorted = (set: ReadonlySet<number>) => [...set].sort((a, b) => a - b);

describe('a consumer group', () => {
  it('gives a lone member every partition, shares them when another joins, and takes a dead member’s over after the lease', async () => {
    const fs = new InMemoryFileSystem();
    const clocks: Record<string, { t: number }> = {};
    const { a, b } = members(fs, ['a', 'b'], clocks) as { a: ConsumerGroup; b: ConsumerGroup };
    expect(sorted((await a.round()).owned)).toEqual([0, 1, 2, 3]);
    // b joins: a owns everything and is alive, so b claims nothing yet.
    const joined = await b.round();
    expect(sorted(joined.owned)).toEqual([]);
    expect(joined.live).toEqual(['a', 'b']);
    // a sees b: the odd partitions are b's share; a hands them over (after storing their state).
    const sharing = await a.round();
    expect(sorted(sharing.owned)).toEqual([0, 2]);
    expect([...sharing.handOver]).toEqual([
      [1, 'b'],
      [3, 'b'],
    ]);
    for (const [p, member] of sharing.handOver) await a.handOver(p, member);
    expect(sorted((await b.round()).owned)).toEqual([1, 3]);
    // a stops beating. Within the lease b leaves its partitions alone; after it, b takes them.
    (clocks.b as { t: number }).t += 900;
    expect(sorted((await b.round()).owned)).toEqual([1, 3]);
    (clocks.b as { t: number }).t += 200;
    expect(sorted((await b.round()).owned)).toEqual([0, 1, 2, 3]);
    // a comes back (a long pause, not a death): the claims are b's; a owns nothing until it is b's share again.
    const back = await a.round();
    expect(sorted(back.owned)).toEqual([]);
  });

  it('lets exactly one of two members claim a free partition at once', async () => {
    const fs = new InMemoryFileSystem();
    const clocks: Record<string, { t: number }> = {};
    const { a, b } = members(fs, ['a', 'b'], clocks) as { a: ConsumerGroup; b: ConsumerGroup };
    const [ra, rb] = await Promise.all([a.round(), b.round()]);
    const owners = [0, 1, 2, 3].map((p) => [ra.owned.has(p), rb.owned.has(p)].filter(Boolean).length);
    expect(owners.every((n) => n <= 1)).toBe(true);
  });
});
