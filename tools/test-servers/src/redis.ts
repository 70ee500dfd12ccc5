import { controlProcess, freePort, hasCommand, missing, type ServerControl, startProcess } from './process.js';

/** A private redis-server for tests, or why there is none. */
export type RedisServer =
  | {
      readonly url: string;
      stop(): Promise<void>;
      /** Stop, restart (same port, same `--dir`) or freeze the server, for fault tests. */
      readonly control: ServerControl;
    }
  | { readonly skip: string };

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /**
   * Extra arguments (default: keep nothing on disk). For data that survives a restart:
   * `['--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]`.
   */
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
  const start = async () => {
    const started = await startProcess(
      'redis-server',
      [...args, '--bind', '127.0.0.1', '--port', String(port), '--daemonize', 'no'],
      { ready: /Ready to accept connections/ },
    );
    return started.process;
  };
  const { control, stop } = controlProcess(await start(), start);
  return { url: `redis://127.0.0.1:${port}`, stop, control };
}
