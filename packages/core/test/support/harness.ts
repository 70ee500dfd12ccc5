import { InMemoryFileSystem, Repository, type RepositoryOptions } from '@evsrc/core';
import { FaultyFileSystem, testAccountType } from '@evsrc/core/testing';

/** A repository of test accounts on a fault-injecting in-memory store, collecting background errors. */
export function setup(options: Partial<RepositoryOptions> = {}, seed?: number) {
  const mem = new InMemoryFileSystem();
  const fs = new FaultyFileSystem(mem, seed === undefined ? {} : { seed });
  const errors: unknown[] = [];
  const repo = new Repository({
    fileSystem: fs,
    aggregates: [testAccountType()],
    onError: (e) => errors.push(e),
    ...options,
  });
  return { mem, fs, repo, errors };
}

/** What a promise rejected with (undefined if it resolved). */
export const errorOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );
