import { freePort, hasCommand, missing, startProcess } from './process.js';

/** A private redis-server for tests, or why there is none. */
export type RedisServer = { readonly url: string; stop(): Promise<void> } | { readonly skip: string };

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Extra arguments, e.g. `['--appendonly', 'yes', '--dir', dir]` (default: keep nothing on disk). */
  readonly args?: readonly string[];
}

/**
 * Starts a private `redis-server` on a free loopback port (never the shared one on 6379).
 * Without the binary: skips with an install hint, or throws under CI.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  if (!hasCommand('redis-server')) {
    return {
      skip: missing('redis-server', 'sudo apt-get install redis-server (or: bash scripts/install-test-servers.sh)'),
    };
  }
  const port = await freePort();
  const args = options.args ?? ['--save', '', '--appendonly', 'no'];
  const { process } = await startProcess(
    'redis-server',
    [...args, '--bind', '127.0.0.1', '--port', String(port), '--daemonize', 'no'],
    { ready: /Ready to accept connections/ },
  );
  return { url: `redis://127.0.0.1:${port}`, stop: () => process.stop() };
}
