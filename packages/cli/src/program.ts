import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AggregateRegistration, ConfigurationError, type EncryptionOptions, type FileSystem } from '@evsrc/core';
import { compactFeed, Keyring } from '@evsrc/core/internals';
import { openFileSystem, parseStoreUrl } from '@evsrc/store';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { copyStore } from './commands/copy.js';
import { ls } from './commands/ls.js';
import { show } from './commands/show.js';
import { verifyStore } from './commands/verify.js';
import { describeFailure, ExitCode } from './exit-codes.js';
import { type Output, processOutput } from './output.js';

const EXIT_CODES_HELP = `
Exit codes:
  0  done, nothing wrong found
  1  problems found (verify), conflicts (copy), or nothing to show
  2  bad usage or configuration (unknown option, bad URL, missing adapter package)
  3  the store failed (I/O, network, permissions) or another error

Store URLs: memory:, ./path or file:///abs/path, s3://bucket/prefix, azure://container/prefix,
redis://host:port/db?prefix=p, rediss://... (see the README for every option).`;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** Builds the `evsrc` program; `exit` receives the exit code of a finished command. */
export function buildProgram(out: Output = processOutput(), exit: (code: number) => void = (c) => process.exit(c)) {
  const program = new Command('evsrc')
    .description('Inspect, verify and migrate evsrc event stores on any backend, by URL.')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .showHelpAfterError();
  const urls: string[] = [];
  const withStore = async <T>(url: string, work: (fs: FileSystem) => Promise<T>): Promise<T> => {
    urls.push(url);
    const fs = await openFileSystem(parseStoreUrl(url));
    try {
      return await work(fs);
    } finally {
      await fs.close?.();
    }
  };

  program
    .command('ls')
    .description('list the aggregate types of a store, or the ids of one type, as they are found')
    .argument('<url>', 'the store')
    .argument('[type]', 'an aggregate type: list its ids')
    .action(async (url: string, type: string | undefined) => {
      const count = await withStore(url, (fs) => ls(fs, type, out));
      exit(count > 0 ? ExitCode.Ok : ExitCode.Problems);
    });

  program
    .command('show')
    .description('print the events of one aggregate')
    .argument('<url>', 'the store')
    .argument('<type>', 'the aggregate type')
    .argument('<id>', 'the aggregate id')
    .option('--at-version <n>', 'stop at this version', positiveInt)
    .option('--json', 'one JSON object per line')
    .option('--keys <file>', 'the keys of an encrypted store (as for verify)')
    .action(
      async (url: string, type: string, id: string, opts: { atVersion?: number; json?: boolean; keys?: string }) => {
        const encryption = opts.keys ? await loadKeys(opts.keys) : undefined;
        await withStore(url, (fs) => show(fs, type, id, { ...opts, ...(encryption ? { encryption } : {}) }, out));
        exit(ExitCode.Ok);
      },
    );

  program
    .command('verify')
    .description(
      'check every batch and snapshot (parses, checksums, headers match paths, versions contiguous) and the change feed',
    )
    .argument('<url>', 'the store')
    .addOption(
      new Option('--snapshots <mode>', 'compare snapshots with a replay (needs --aggregates)')
        .choices(['none', 'sample', 'full'])
        .default('sample'),
    )
    .option('--aggregates <module>', 'an ES module exporting `aggregates`: your aggregate registrations')
    .option(
      '--keys <file>',
      'the keys of an encrypted store: JSON {"currentKey": id, "keys": {id: base64 32-byte key}}',
    )
    .option('--concurrency <n>', 'reads in flight', positiveInt, 8)
    .action(
      async (
        url: string,
        opts: { snapshots: 'none' | 'sample' | 'full'; aggregates?: string; keys?: string; concurrency: number },
      ) => {
        const aggregates = opts.aggregates ? await loadRegistrations(opts.aggregates) : undefined;
        const encryption = opts.keys ? await loadKeys(opts.keys) : undefined;
        const report = await withStore(url, (fs) =>
          verifyStore(
            fs,
            {
              snapshots: opts.snapshots,
              concurrency: opts.concurrency,
              ...(aggregates ? { aggregates } : {}),
              ...(encryption ? { encryption } : {}),
            },
            out,
          ),
        );
        out.note(`verified ${report.aggregates} aggregates, ${report.files} files: ${report.problems.length} problems`);
        exit(report.problems.length ? ExitCode.Problems : ExitCode.Ok);
      },
    );

  program
    .command('copy')
    .description('copy a whole store to another backend; never overwrites, resumable, verified at the end')
    .argument('<from>', 'the source store')
    .argument('<to>', 'the destination store')
    .option('--concurrency <n>', 'files copied at once', positiveInt, 8)
    .option('--no-verify', 'skip verifying the destination')
    .action(async (from: string, to: string, opts: { concurrency: number; verify: boolean }) => {
      const report = await withStore(from, (source) => withStore(to, (dest) => copyStore(source, dest, opts, out)));
      out.note(
        `copied ${report.copied} files, ${report.alreadyThere} already there, ${report.conflicts.length} conflicts`,
      );
      let problems = report.conflicts.length;
      if (opts.verify) {
        const check = await withStore(to, (dest) => verifyStore(dest, { snapshots: 'none' }, out));
        out.note(`verified the destination: ${check.aggregates} aggregates, ${check.problems.length} problems`);
        problems += check.problems.length;
      }
      exit(problems ? ExitCode.Problems : ExitCode.Ok);
    });

  const feed = program.command('feed').description("work on a store's change feed");
  feed
    .command('compact')
    .description(
      'compact the log: entries whose batches are all decided keep only where those batches are (safe alongside writers and readers)',
    )
    .argument('<url>', 'the store')
    .option('--keep-newest <n>', 'leave the newest n positions of each log whole', (v) => positiveInt(v), 0)
    .action(async (url: string, opts: { keepNewest: number }) => {
      const done = await withStore(url, (fs) => compactFeed(fs, { keepNewest: opts.keepNewest }));
      out.note(
        `compacted ${done.entries} log entries into ${done.segments} segments: ${done.bytesBefore} bytes → ${done.bytesAfter}` +
          (done.undecided > 0
            ? `; ${done.undecided} log(s) stopped at an entry not yet decided (a writer may be at work)`
            : ''),
      );
      exit(ExitCode.Ok);
    });

  return { program, urls };
}

/** Imports the user's module of aggregate registrations (`export const aggregates = [...]`, or default). */
async function loadRegistrations(module: string): Promise<AggregateRegistration[]> {
  const loaded = (await import(pathToFileURL(resolve(module)).href)) as {
    aggregates?: AggregateRegistration[];
    default?: AggregateRegistration[];
  };
  const list = loaded.aggregates ?? loaded.default;
  if (!Array.isArray(list)) throw new ConfigurationError(`${module} exports no "aggregates" array of registrations`);
  return list;
}

/**
 * Reads a key file: `{"currentKey": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}`
 * (each key 32 bytes). Its contents never appear in messages.
 */
async function loadKeys(file: string): Promise<EncryptionOptions> {
  let parsed: { currentKey?: unknown; keys?: unknown };
  try {
    parsed = JSON.parse(await readFile(resolve(file), 'utf8')) as typeof parsed;
  } catch (error) {
    throw new ConfigurationError(`Cannot read the key file ${file}: ${(error as Error).message.split('\n')[0]}`);
  }
  const { keys, currentKey } = parsed;
  if (typeof keys !== 'object' || keys === null || Object.values(keys).some((k) => typeof k !== 'string')) {
    throw new ConfigurationError(`${file} needs "keys": an object of key ids to base64 keys`);
  }
  const decoded = Object.fromEntries(
    Object.entries(keys as Record<string, string>).map(([id, k]) => [id, new Uint8Array(Buffer.from(k, 'base64'))]),
  );
  const current = typeof currentKey === 'string' ? currentKey : Object.keys(decoded)[0];
  if (current === undefined) throw new ConfigurationError(`${file} holds no key`);
  // Checked like a repository's keyring (sizes, ids), so a bad file fails as configuration.
  new Keyring({ keys: decoded, currentKey: current });
  return { keys: decoded, currentKey: current };
}

/** Runs the `evsrc` command line; resolves to its exit code. */
export async function run(argv: readonly string[], out: Output = processOutput()): Promise<number> {
  let code: number = ExitCode.Ok;
  const { program, urls } = buildProgram(out, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    const failure = describeFailure(error, urls);
    out.note(`evsrc: ${failure.message}`);
    return failure.code;
  }
}
