import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const at = (path: string) => fileURLToPath(new URL(path, import.meta.url));
/** The built `evsrc` command and the built demo. */
export const EVSRC = at('../../packages/cli/dist/bin.js');
export const DEMO = at('../../examples/bank/dist/main.js');

/** Runs a Node script as a separate process. */
export function node(script: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 << 20, ...(cwd ? { cwd } : {}) },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
