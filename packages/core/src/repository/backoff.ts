/**
 * How long `Repository.execute` waits before attempt `attempt + 1`: exponential from
 * `baseMs`, capped at `maxMs`, then spread by a random factor in [0.5, 1.5) so that
 * writers who collided do not collide again in step.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  return Math.min(maxMs, baseMs * 2 ** (attempt - 1)) * (0.5 + random());
}
