import { ErrorCode, isEvsrcError } from '@evsrc/core';
import { redactUrl } from '@evsrc/store';

/** The exit codes of the `evsrc` command. */
export const ExitCode = {
  /** Done; nothing wrong found. */
  Ok: 0,
  /** The command ran and found problems (verify), conflicts (copy), or nothing to show. */
  Problems: 1,
  /** Bad usage or configuration: unknown option, bad URL, missing adapter package, missing encryption key. */
  Usage: 2,
  /** The store failed (I/O, network, permissions) or another unexpected error. */
  Failure: 3,
} as const;

/** Turns an error into a message (no secrets) and an exit code. */
export function describeFailure(error: unknown, urls: readonly string[]): { message: string; code: number } {
  let message = error instanceof Error ? error.message : String(error);
  for (const url of urls) {
    const shown = redactUrl(url);
    if (shown !== url) message = message.split(url).join(shown);
  }
  // A missing encryption key is configuration: pass --keys.
  const usage = [ErrorCode.Configuration, ErrorCode.InvalidId, ErrorCode.MissingKey] as const;
  if (usage.some((code) => isEvsrcError(error, code))) return { message, code: ExitCode.Usage };
  // A forgotten (crypto-shredded) aggregate has nothing to show, like one that never existed.
  if (isEvsrcError(error, ErrorCode.AggregateNotFound) || isEvsrcError(error, ErrorCode.Forgotten)) {
    return { message, code: ExitCode.Problems };
  }
  return { message, code: ExitCode.Failure };
}
