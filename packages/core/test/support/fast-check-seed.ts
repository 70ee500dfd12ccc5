import fc from 'fast-check';

// Under CI every property uses one fixed seed, so a submission's CI is reproducible.
// Everywhere else each run draws a new seed and keeps exploring; a failure prints its
// seed, which EVSRC_FC_SEED replays (the header bug fixed in envelope.ts was found so).
const seed = process.env.EVSRC_FC_SEED ?? (process.env.CI ? '20261122' : undefined);
if (seed !== undefined) fc.configureGlobal({ seed: Number(seed) });
