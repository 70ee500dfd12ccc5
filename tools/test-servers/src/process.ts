/**
 * Helpers to run real storage servers for tests: a free loopback port, a child process
 * that is ready when it prints a line, and the rule for a missing binary (skip with a
 * message locally, fail under CI).
 *
 * @packageDocumentation
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/** Asks the OS for a free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** True if `command` is found on the PATH (or is an existing path). */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v "${command}"`], { stdio: 'ignore' }).status === 0;
}

/** True under CI (the `CI` environment variable is set and not "false" or "0"). */
export const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/**
 * What to do when a server's binary is missing: under CI throw (nothing may skip); else
 * return a message for `describe.skip` that says how to install it.
 */
export function missing(what: string, howToInstall: string): string {
  const message = `${what} is not installed; its tests are skipped. Install it with: ${howToInstall}`;
  if (inCI) throw new Error(`CI: ${message.replace('its tests are skipped', 'and under CI nothing may skip')}`);
  console.warn(`\n⚠ ${message}\n`);
  return message;
}

/** A started child process. */
export interface RunningProcess {
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Sends SIGTERM (then SIGKILL after `graceMs`) and waits for the exit. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Fault injection on a running test server, for reliability tests: stop it while keeping
 * its data, start it again on the same port, or freeze it.
 */
export interface ServerControl {
  /**
   * Ends the server process with `signal` (default `SIGTERM`, a clean shutdown; `SIGKILL`
   * for a crash) and waits for its exit. Its data stays where it was kept.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same data (after {@link kill}); resolves when it is ready. */
  restart(): Promise<void>;
  /** Sends `SIGSTOP`: connections stay open but nothing is answered, like a hung host. */
  freeze(): void;
  /** Sends `SIGCONT` after {@link freeze}. */
  thaw(): void;
  /** Whether the server process is running (frozen or not). */
  readonly running: boolean;
}

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** What {@link controlProcess} needs of a process: its handle and its exit. */
export interface ControlledProcess {
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

/**
 * A {@link ServerControl} over a process that `start` spawns again on each restart, and a
 * `stop` that thaws it and ends the server with `stopServer` (default: the process's own
 * `stop`).
 */
export function controlProcess<P extends ControlledProcess>(
  first: P,
  start: () => Promise<P>,
  stopServer: (current: P) => Promise<void> = (current) => (current as unknown as RunningProcess).stop(),
): { control: ServerControl; stop(): Promise<void> } {
  let current = first;
  let frozen = false;
  const thaw = () => {
    if (frozen && isRunning(current.child)) current.child.kill('SIGCONT');
    frozen = false;
  };
  const control: ServerControl = {
    async kill(signal = 'SIGTERM') {
      if (!isRunning(current.child)) return;
      // A stopped process handles SIGTERM only once it runs again.
      if (signal !== 'SIGKILL') thaw();
      current.child.kill(signal);
      await current.exited;
      frozen = false;
    },
    async restart() {
      if (isRunning(current.child)) throw new Error('the server is still running: kill it first');
      current = await start();
    },
    freeze() {
      if (!isRunning(current.child)) throw new Error('the server is not running');
      current.child.kill('SIGSTOP');
      frozen = true;
    },
    thaw,
    get running() {
      return isRunning(current.child);
    },
  };
  return {
    control,
    stop: async () => {
      thaw();
      await stopServer(current);
    },
  };
}

/** Options of {@link startProcess}. */
export interface StartProcessOptions {
  /** Ready when the output matches this. */
  ready: RegExp;
  /** Give up after this many ms (default 20,000). */
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Spawns a process and resolves once its output matches `ready` (with the match). */
export async function startProcess(
  command: string,
  args: readonly string[],
  options: StartProcessOptions,
): Promise<{ process: RunningProcess; match: RegExpMatchArray }> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running: RunningProcess = {
    child,
    exited,
    output: () => output,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} was not ready after ${options.timeoutMs ?? 20_000} ms. Output:\n${output}`));
    }, options.timeoutMs ?? 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = output.match(options.ready);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code ?? signal}) before it was ready. Output:\n${output}`));
    });
  });
  return { process: running, match };
}
