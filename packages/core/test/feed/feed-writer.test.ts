import { type Format, InMemoryFileSystem, json, Repository } from '@evsrc/core';
import { parseVector } from '@evsrc/core/internals';
import { TestAccount, testAccountType } from '@evsrc/core/testing';
import { describe, expect, it } from 'vitest';

describe('the feed writer', () => {
  it('re-stamps only the header when another process took its feed position: the batch is encoded once', async () => {
    let encodes = 0;
    const counting: Format = {
      ...json,
      name: 'json',
      events: {
        ...json.events,
        encode: (events) => {
          encodes++;
          return json.events.encode(events);
        },
      },
    };
    const fileSystem = new InMemoryFileSystem();
    const feed = { partitions: 1 };
    const a = new Repository({ fileSystem, aggregates: [testAccountType()], feed, format: counting });
    const b = new Repository({ fileSystem, aggregates: [testAccountType()], feed });
    const save = async (repository: Repository, id: string) => {
      const account = new TestAccount(id);
      account.open(id);
      await repository.save(account);
    };
    await save(a, 'first'); // a knows the head: position 1
    await save(b, 'second'); // b takes position 2 behind a's back
    encodes = 0;
    await save(a, 'third'); // a tries 2, loses, takes 3
    expect(encodes).toBe(1);
    const batches = [];
    for await (const batch of a.feed.read()) batches.push(batch);
    expect(
      batches.map((x) => [x.aggregateId, parseVector(x.checkpoint, { partitions: 1, legacy: false })[0]?.position]),
    ).toEqual([
      ['first', 1],
      ['second', 2],
      ['third', 3],
    ]);
  });
});
