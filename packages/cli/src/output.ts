import { Presets, SingleBar } from 'cli-progress';

/** Counts work done; drawn as a bar on a terminal, as occasional plain lines otherwise. */
export interface Progress {
  tick(count?: number): void;
  stop(): void;
}

/** Where a command writes: results to stdout, progress and problems to stderr. */
export interface Output {
  /** A result line (stdout). */
  line(text: string): void;
  /** A diagnostic line (stderr). */
  note(text: string): void;
  /** Starts a progress display for `total` units of work. */
  progress(label: string, total: number): Progress;
}

/** The process's output; a bar (cli-progress) only when stderr is a terminal. */
export function processOutput(stdout = process.stdout, stderr = process.stderr): Output {
  const interactive = stderr.isTTY === true;
  return {
    line: (text) => stdout.write(`${text}\n`),
    note: (text) => stderr.write(`${text}\n`),
    progress(label, total) {
      if (interactive) {
        const bar = new SingleBar(
          { format: `${label} [{bar}] {value}/{total} {eta_formatted}`, stream: stderr, clearOnComplete: true },
          Presets.shades_classic,
        );
        bar.start(total, 0);
        return { tick: (n = 1) => bar.increment(n), stop: () => bar.stop() };
      }
      // Plain lines, about every 10%, for logs and pipes.
      let done = 0;
      let reported = 0;
      const step = Math.max(1, Math.ceil(total / 10));
      return {
        tick(n = 1) {
          done += n;
          if (done - reported >= step || done === total) {
            reported = done;
            stderr.write(`progress: ${label} ${done}/${total}\n`);
          }
        },
        stop: () => undefined,
      };
    },
  };
}
