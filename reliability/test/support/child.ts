import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The AWS SDK's notice that its releases after January 2027 need Node 22 (printed once by
 * each process that loads it on Node 20): not the child's output, so left out of `stderr()`.
 */
const SDK_NODE_WARNING =
  /\(node:\d+\) Warning: NodeVersionSupportWarning:[\s\S]*?\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n?/g;

/** The path of a child script in `test/children/`. */
export const childScript = (name: string): string => fileURLToPath(new URL(`../children/${name}`, import.meta.url));

/** How a child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A Node child process whose stdout is read line by line. */
export interface Child {
  readonly process: ChildProcess;
  /** The complete lines (ending with a newline) it printed so far on stdout. */
  readonly lines: readonly string[];
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Resolves with the first line (already printed or to come) that `match` accepts; rejects if the child ends first. */
  line(match: (line: string) => boolean): Promise<string>;
  /** Writes a line to its stdin. */
  send(line: string): void;
  /** Resolves once it has exited and all its output is read. */
  readonly exit: Promise<Exit>;
}

/** Starts `node <script> ...args`. */
export function spawnNode(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const waiting = new Set<() => void>();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    // The last part has no newline yet: it is not a complete line (a write cut by a kill).
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of waiting) wake();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.on('error', () => undefined); // writing to a child that is gone is not an error here
  let closed = false;
  const exit = new Promise<Exit>((resolve, reject) => {
    child.once('error', (error) => {
      closed = true;
      reject(error);
      for (const wake of waiting) wake();
    });
    // 'close' comes after 'exit' and after the output streams have ended.
    child.once('close', (code, signal) => {
      closed = true;
      resolve({ code, signal });
      for (const wake of waiting) wake();
    });
  });
  return {
    process: child,
    lines,
    stderr: () => stderr.replace(SDK_NODE_WARNING, ''),
    send: (line) => {
      child.stdin.write(`${line}\n`);
    },
    exit,
    line: (match) =>
      new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < lines.length; seen++) {
            const line = lines[seen] as string;
            if (match(line)) {
              waiting.delete(check);
              resolve(line);
              return;
            }
          }
          if (closed) {
            waiting.delete(check);
            reject(new Error(`the child ended without printing the line awaited. stderr:\n${stderr}`));
          }
        };
        waiting.add(check);
        check();
      }),
  };
}

/** How {@link killAtRandom} picks its moment. */
export interface KillMoment {
  /** Share of kills during start-up, within the first 250 ms (before or around the first write). */
  readonly early: number;
  /** The other kills come after 0 to `maxAcks - 1` acknowledged saves… */
  readonly maxAcks: number;
  /** …plus up to this many ms, while several saves are in flight. */
  readonly maxDelayMs: number;
}

/**
 * Kills a writer (which prints `ready` when it starts and `ack …` after each save) with
 * SIGKILL at a random moment drawn from `random`.
 */
export async function killAtRandom(child: Child, random: () => number, moment: KillMoment): Promise<void> {
  if (random() < moment.early) {
    await new Promise((resolve) => setTimeout(resolve, random() * 250));
  } else {
    const acks = Math.floor(random() * moment.maxAcks);
    let seen = 0;
    await child.line((l) => l.startsWith('ready'));
    if (acks > 0) await child.line((l) => l.startsWith('ack ') && ++seen >= acks);
    await new Promise((resolve) => setTimeout(resolve, random() * moment.maxDelayMs));
  }
  child.process.kill('SIGKILL');
}
