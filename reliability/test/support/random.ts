/** A seeded generator of numbers in [0, 1), so that a failing run can be replayed. */
export { seededRandom as seeded } from '@evsrc/core/testing';

/** A positive integer from an environment variable, or `fallback`. */
export function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${text}"`);
  return value;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
