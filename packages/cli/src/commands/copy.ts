import { type FileSystem, isEvsrcError } from '@evsrc/core';
import { mapOrdered } from '@evsrc/core/internals';
import type { Output } from '../output.js';
import type { Problem } from './verify.js';

/** Options of {@link copyStore}. */
export interface CopyOptions {
  /** Files copied at once (default 8). */
  readonly concurrency?: number;
}

/** What {@link copyStore} did. */
export interface CopyReport {
  readonly copied: number;
  /** Already at the destination with the same bytes (a resumed copy). */
  readonly alreadyThere: number;
  /** At the destination with different bytes: left alone. */
  readonly conflicts: Problem[];
}

/**
 * `evsrc copy <from> <to>`: copies every file of one store to another with the
 * destination's create-if-absent, so it never overwrites: a file already there with the
 * same bytes counts as done (a resumed copy), one with different bytes is a conflict.
 */
export async function copyStore(
  from: FileSystem,
  to: FileSystem,
  options: CopyOptions,
  out: Output,
): Promise<CopyReport> {
  let total = 0;
  for await (const _ of from.list('')) total++;
  const progress = out.progress('copy', total);
  let copied = 0;
  let alreadyThere = 0;
  const conflicts: Problem[] = [];
  const results = mapOrdered(from.list(''), options.concurrency ?? 8, async (path) => copyOne(from, to, path));
  for await (const result of results) {
    if (result === 'copied') copied++;
    else if (result === 'same') alreadyThere++;
    else if (result !== 'gone') {
      conflicts.push(result);
      out.line(`${result.path}: ${result.message}`);
    }
    progress.tick();
  }
  progress.stop();
  return { copied, alreadyThere, conflicts };
}

async function copyOne(from: FileSystem, to: FileSystem, path: string): Promise<'copied' | 'same' | 'gone' | Problem> {
  const bytes = await from.read(path);
  if (bytes === undefined) return 'gone';
  try {
    await to.create(path, bytes);
    return 'copied';
  } catch (error) {
    if (!isEvsrcError(error, 'EVSRC_FILE_EXISTS')) throw error;
  }
  const existing = await to.read(path);
  if (existing !== undefined && Buffer.from(existing).equals(Buffer.from(bytes))) return 'same';
  return { path, message: 'exists at the destination with different content; left as it is' };
}
