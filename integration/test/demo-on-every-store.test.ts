import { describe, expect, it } from 'vitest';
import { DEMO, node } from './run.js';
import { stores } from './stores.js';

// The application is the same file each time: only EVSRC_STORE (and the backend's own
// credentials variable) changes.
describe('the demo application on every backend, chosen by EVSRC_STORE alone', async () => {
  for (const store of await stores()) {
    if ('skip' in store) {
      describe.skip(`${store.name}: ${store.skip}`, () => undefined);
      continue;
    }
    it(`runs on ${store.name}`, async () => {
      const { code, stdout, stderr } = await node(DEMO, [], { ...store.env, EVSRC_STORE: store.url });
      expect(code, stderr).toBe(0);
      expect(stderr).not.toMatch(/error/i); // warnings (e.g. a Redis that keeps nothing on disk) are fine
      expect(stdout).toMatch(/^loaded {3}acc-\d+: owner Ada Lovelace, balance 200, version 4$/m);
      expect(stdout).toMatch(/^conflict Concurrency conflict .* expected version 4, found 5$/m);
      expect(stdout).toMatch(/^retried {2}balance 203, version 6$/m);
      expect(stdout).toMatch(/^as of v2 balance 250$/m);
      expect(stdout).toMatch(/^transfer checking 153, savings 50$/m);
      // The balance list, a projection of the change feed, agrees with the aggregates; the
      // save that lost the conflict (5.) was logged but never counted.
      expect(stdout).toMatch(/^list {5}acc-\d+: Ada Lovelace, 153$/m);
      expect(stdout).toMatch(/^list {5}acc-\d+-savings: Ada Lovelace, 50$/m);
      // feed: true turns the feed on with the backend's partitions (1 on local disk, 32 on the
      // network stores): a checkpoint holds a place (or nothing yet) per partition.
      const place = '(?:\\d+:\\d+:[0-9a-f]{16})?';
      const line = new RegExp(`^list {5}\\d+ new batches handled, checkpoint (\\d+)\\|(${place}(?:,${place})*)$`, 'm');
      const [, partitions, places] = line.exec(stdout) ?? [];
      expect(places?.split(',')).toHaveLength(Number(partitions));
      expect(places).toMatch(/\d+:\d+:[0-9a-f]{16}/);
      expect(stdout.match(/events\/\d{12}\.batch$/gm)).toEqual([
        'events/000000000001.batch',
        'events/000000000003.batch',
        'events/000000000005.batch',
        'events/000000000006.batch',
        'events/000000000007.batch',
      ]);
      for (const secret of Object.values(store.env)) expect(stdout).not.toContain(secret);
    });
  }
});
