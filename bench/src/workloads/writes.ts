/**
 * The write workloads. evsrc: `Repository.save` of a `Ledger` whose events were recorded
 * just before. raw: the same events as plain objects, encoded with the same parser into a
 * file of the same format, written with the store's create-if-absent primitive. Latency is
 * per save (encoding included on both sides); events/s over the whole run.
 *
 * @module
 */
import type { Repository } from '@evsrc/core';
import { Ledger } from '../domain.js';
import { type Latencies, measureWrites } from '../measure.js';
import type { Sizes } from '../options.js';
import { fmt, type Outcome, type RunContext, rawParser, rawRange, repository, saveRange, warmUp } from './context.js';

/** W1: one aggregate, `w1Events` events saved `w1Batch` at a time. */
export async function w1(ctx: RunContext): Promise<Outcome> {
  const { w1Events: total, w1Batch: batch } = ctx.sizes;
  await warmUp(ctx, 'evsrc');
  const repo = repository(ctx.target.fileSystem, ctx.parser);
  const evsrc = await measureWrites(total, (l) => saveRange(repo, new Ledger('w1'), 0, total, batch, l));
  await warmUp(ctx, 'raw');
  const raw = await measureWrites(total, (l) => rawRange(ctx.target.raw, rawParser(ctx), 'w1', 0, total, batch, l));
  ctx.w1Written = true;
  return { size: `${fmt(total)} events, ${fmt(Math.ceil(total / batch))} saves of ${batch}`, evsrc, raw };
}

/** W2: `w2Aggregates` new aggregates, `w2Events` events each, one save each. */
export async function w2(ctx: RunContext): Promise<Outcome> {
  const { w2Aggregates: count, w2Events: per } = ctx.sizes;
  const events = count * per;
  await warmUp(ctx, 'evsrc');
  const repo = repository(ctx.target.fileSystem, ctx.parser);
  const evsrc = await measureWrites(events, (l) => w2Saves(repo, ctx.sizes, l));
  await warmUp(ctx, 'raw');
  const raw = await measureWrites(events, async (l) => {
    for (let a = 0; a < count; a++)
      await rawRange(ctx.target.raw, rawParser(ctx), `w2-${a}`, a * per, (a + 1) * per, per, l);
  });
  return { size: w2Size(ctx.sizes), evsrc, raw };
}

/** W2's saves on `repo`: aggregate after aggregate. */
export async function w2Saves(repo: Repository, sizes: Sizes, latencies: Latencies): Promise<void> {
  const { w2Aggregates: count, w2Events: per } = sizes;
  for (let a = 0; a < count; a++) await saveRange(repo, new Ledger(`w2-${a}`), a * per, (a + 1) * per, per, latencies);
}

export const w2Size = (s: Sizes) => `${fmt(s.w2Aggregates)} aggregates × ${s.w2Events} events, one save each`;

/** W5: `w5Writers` concurrent writers on distinct aggregates, `w5Saves` saves of `w5Events` events each. */
export async function w5(ctx: RunContext): Promise<Outcome> {
  const { w5Writers: writers, w5Saves: saves, w5Events: per } = ctx.sizes;
  const events = writers * saves * per;
  const ids = Array.from({ length: writers }, (_, w) => `w5-${w}`);
  await warmUp(ctx, 'evsrc');
  const repo = repository(ctx.target.fileSystem, ctx.parser);
  const evsrc = await measureWrites(events, (l) => w5Saves(repo, ctx.sizes, l));
  await warmUp(ctx, 'raw');
  const raw = await measureWrites(events, async (l) => {
    await Promise.all(ids.map((id) => rawRange(ctx.target.raw, rawParser(ctx), id, 0, saves * per, per, l)));
  });
  return { size: w5Size(ctx.sizes), evsrc, raw };
}

/** W5's saves on `repo`: all writers at once, each on its own aggregate. */
export async function w5Saves(repo: Repository, sizes: Sizes, latencies: Latencies): Promise<void> {
  const { w5Writers: writers, w5Saves: saves, w5Events: per } = sizes;
  const ids = Array.from({ length: writers }, (_, w) => `w5-${w}`);
  await Promise.all(ids.map((id) => saveRange(repo, new Ledger(id), 0, saves * per, per, latencies)));
}

export const w5Size = (s: Sizes) =>
  `${s.w5Writers} writers × ${fmt(s.w5Saves)} saves of ${s.w5Events === 1 ? '1 event' : `${s.w5Events} events`}`;
