import { InMemoryFileSystem, Repository } from '@evsrc/core';
import { TestAccount, testAccountType } from '@evsrc/core/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { build, corrupt, corruption, count, expectTypedNaming, reportTried } from '../support/corrupt-files.js';

afterAll(reportTried);

/** What a load of `id` gives: its state, version and events. */
async function state(repo: Repository, id: string): Promise<unknown> {
  const a = await repo.get(TestAccount, id);
  const events: unknown[] = [];
  for await (const r of repo.events(TestAccount, id)) events.push([r.version, r.type, { ...r.event }]);
  return { state: a.toSnapshot(), version: a.version, events };
}

// A generous time-out: the property builds and loads hundreds of stores, on machines that may be busy.
describe('corrupt files: the repository loader (fast-check)', { timeout: 120_000 }, () => {
  it('loads the right aggregate or fails with a typed error naming the bad file — never a wrong aggregate', async () => {
    const history = fc.record({
      saves: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 6 }),
      snapshotEvery: fc.constantFrom(0, 2, 3),
      format: fc.constantFrom('json' as const, 'msgpack' as const),
    });
    await fc.assert(
      fc.asyncProperty(history, fc.nat(), corruption, async (h, pick, c) => {
        const mem = new InMemoryFileSystem({ async: false });
        const writer = await build(mem, h);
        const pristine = { victim: await state(writer, 'victim'), other: await state(writer, 'other') };
        const files: string[] = [];
        for await (const n of mem.list('test-account/victim/')) files.push(n);
        const target = files[pick % files.length] as string;
        // A CRC-valid snapshot with another body is indistinguishable from a real one: only batches get new bodies.
        fc.pre(!(c.kind === 'random body' && target.endsWith('.snap')));
        count('loader');
        const bad = await corrupt(mem, target, c);
        const reported: unknown[] = [];
        const repo = new Repository({
          fileSystem: mem,
          aggregates: [testAccountType()],
          onError: (e) => reported.push(e),
        });
        const loaded = await state(repo, 'victim').catch((e: unknown) => ({ error: e }));
        if ('error' in (loaded as object)) expectTypedNaming((loaded as { error: unknown }).error, bad);
        else {
          expect(loaded).toEqual(pristine.victim);
          for (const e of reported) expectTypedNaming(e, bad);
        }
        expect(await state(repo, 'other')).toEqual(pristine.other);
      }),
      { numRuns: 400 },
    );
  });
});
