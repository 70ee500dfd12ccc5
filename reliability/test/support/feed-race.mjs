// What one racer does in the feed race (see feed-many-processes.test.ts): shared by the child
// process (children/feed-racer.mjs) and the in-process race on memory. Types: feed-race.d.mts.
import { Ledger } from './domain.mjs';

/** The aggregate every racer runs commands on. */
export const SHARED = 'shared';
/** Aggregates of its own each racer saves, all at once. */
export const OWN = 3;

/**
 * Four loops at once on one repository (whose store has the feed on), so that its feed
 * writer often logs several batches in one entry: `saves` saves of 1 to 3 events on each
 * of the racer's own {@link OWN} aggregates `own-{racer}-{k}`, and `commands` commands on the
 * shared aggregate with the retry helper (`maxAttempts: 10`, `backoffMs: 2`). Each run of
 * a command raises an event with a tag of its own (`p{racer}-s{i}-a{attempt}`), so a run
 * that lost its save (a conflict) is known by its tag.
 */
export async function runFeedRacer(repository, racer, saves, commands) {
  const acks = [];
  const failedAttempts = [];
  const gaveUp = [];
  let attempts = 0;
  let okAfterRetry = 0;
  const started = Date.now();

  const own = async (k) => {
    const id = `own-${racer}-${k}`;
    const ledger = (await repository.find(Ledger, id)) ?? new Ledger(id);
    for (let s = 0; s < saves; s++) {
      const tags = Array.from({ length: 1 + ((s + k) % 3) }, (_, i) => `p${racer}-o${k}-${s}-${i}`);
      for (const tag of tags) ledger.record(tag);
      const first = ledger.storedVersion + 1;
      await repository.save(ledger);
      acks.push({ id, first, last: ledger.storedVersion, tags });
    }
  };

  const shared = async () => {
    for (let i = 0; i < commands; i++) {
      const tags = [];
      try {
        const ledger = await repository.execute(
          Ledger,
          SHARED,
          (l) => {
            attempts++;
            const tag = `p${racer}-s${i}-a${tags.length + 1}`;
            tags.push(tag);
            l.record(tag);
          },
          { create: true, maxAttempts: 10, backoffMs: 2 },
        );
        const tag = tags.pop();
        acks.push({ id: SHARED, first: ledger.storedVersion, last: ledger.storedVersion, tags: [tag] });
        if (tags.length > 0) okAfterRetry++;
      } catch (error) {
        gaveUp.push({ tag: tags.at(-1), code: error?.code, message: String(error?.message ?? error) });
      }
      failedAttempts.push(...tags);
    }
  };

  await Promise.all([...Array.from({ length: OWN }, (_, k) => own(k)), shared()]);
  return { acks, failedAttempts, gaveUp, attempts, okAfterRetry, ms: Date.now() - started };
}
