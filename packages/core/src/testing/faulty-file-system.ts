import { setTimeout as sleep } from 'node:timers/promises';
import { StorageError } from '../errors.js';
import type { CreateOptions, FileSystem, ListOptions, ReadOptions, ReplaceOptions } from '../storage/file-system.js';
import { seededRandom } from './seeded-random.js';

/** The operations of the {@link FileSystem} port that faults can hit. */
export type FileSystemOperation = 'read' | 'create' | 'replace' | 'list' | 'delete';

/**
 * What an injected fault does to a call it hits:
 *
 * - `'fail'`: throws before the call reaches the store; nothing changes.
 * - `'fail-after'`: does the call, then throws: the store changed, but the caller is told
 *   it failed ("succeeded but reported failure"). A listing yields every name, then throws.
 * - `'hang'`: never settles until {@link FaultyFileSystem.release} lets the call go on
 *   (it then reaches the store, late, and settles as usual).
 * - `{ delayMs }`: waits that long, then does the call (it lands late).
 */
export type Fault = 'fail' | 'fail-after' | 'hang' | { readonly delayMs: number };

/** One call seen by a {@link FaultyFileSystem}. */
export interface FaultyCall {
  /** The operation called. */
  readonly operation: FileSystemOperation;
  /** The file name, or for `list` the prefix. */
  readonly path: string;
  /** The fault that hit it, if any. */
  readonly fault?: Fault;
}

/** Which calls a fault hits, and how. */
export interface FaultRule {
  /** What happens to a call that is hit. */
  readonly fault: Fault;
  /** The operations it applies to (default: all). */
  readonly operation?: FileSystemOperation | readonly FileSystemOperation[];
  /**
   * The names it applies to (for `list`: the prefix): a regular expression, a string the
   * name contains, or a predicate. Default: every name.
   */
  readonly path?: RegExp | string | ((path: string) => boolean);
  /**
   * How many calls it hits at most. Default: 1, or no limit when `probability` is given.
   * `Infinity`: every matching call.
   */
  readonly times?: number;
  /** The chance, from 0 to 1, that a matching call is hit, drawn from the seeded generator (default 1). */
  readonly probability?: number;
  /** Let this many matching calls through before the rule starts hitting (default 0). */
  readonly skip?: number;
  /**
   * What `'fail'` and `'fail-after'` throw. Default: a {@link StorageError} naming the
   * operation and path, as a conforming adapter throws for a backend failure, whose
   * `cause` is an `Error` with `code: 'EINJECTED'`.
   */
  readonly error?: (call: FaultyCall) => unknown;
}

/** A rule in force, as returned by {@link FaultyFileSystem.inject}. */
export interface FaultHandle {
  /** The rule. */
  readonly rule: FaultRule;
  /** How many calls it has hit so far. */
  readonly hits: number;
  /** Removes the rule: later calls are no longer hit by it. */
  remove(): void;
}

/** Options of {@link FaultyFileSystem}. */
export interface FaultyFileSystemOptions {
  /** Seed of the generator behind `probability` (default 1): the same seed hits the same calls. */
  readonly seed?: number;
}

interface ActiveRule {
  readonly rule: FaultRule;
  readonly operations: readonly FileSystemOperation[] | undefined;
  readonly matches: (path: string) => boolean;
  readonly limit: number;
  skipped: number;
  hits: number;
}

function matcher(path: FaultRule['path']): (path: string) => boolean {
  if (path === undefined) return () => true;
  if (typeof path === 'string') return (p) => p.includes(path);
  if (typeof path === 'function') return path;
  return (p) => p.search(path) >= 0;
}

const describeFault = (fault: Fault) => (typeof fault === 'string' ? fault : `delay of ${fault.delayMs} ms`);

function injectedError(call: FaultyCall): StorageError {
  const fault = call.fault ?? 'fail';
  const cause = Object.assign(new Error(`injected fault (${describeFault(fault)}) on ${call.operation} ${call.path}`), {
    code: 'EINJECTED',
  });
  return new StorageError(call.operation, call.path, cause);
}

/**
 * A {@link FileSystem} wrapper for tests that makes chosen calls of another file system
 * fail, hang, land late, or succeed but report failure — to prove that code built on
 * evsrc copes with a misbehaving store.
 *
 * @example
 * ```ts
 * import { FaultyFileSystem } from '@evsrc/core/testing';
 * const fs = new FaultyFileSystem(new InMemoryFileSystem(), { seed: 42 });
 * fs.inject({ operation: 'create', path: /\/events\//, fault: 'fail-after' }); // the next batch lands, then "fails"
 * fs.inject({ operation: 'read', fault: 'fail', probability: 0.1 });            // 10 % of reads fail
 * fs.inject({ operation: 'create', fault: 'hang' });                           // until fs.release()
 * ```
 */
export class FaultyFileSystem implements FileSystem {
  /** Every call made, in order, with the fault that hit it. */
  readonly calls: FaultyCall[] = [];
  readonly #rules: ActiveRule[] = [];
  readonly #hung: (() => void)[] = [];
  readonly #random: () => number;

  constructor(
    /** The file system that does the work. */
    readonly inner: FileSystem,
    options: FaultyFileSystemOptions = {},
  ) {
    this.#random = seededRandom(options.seed ?? 1);
  }

  /** The wrapped file system's read concurrency. */
  get readConcurrency(): number | undefined {
    return this.inner.readConcurrency;
  }

  /** How many calls are hanging now, waiting for {@link release}. */
  get hanging(): number {
    return this.#hung.length;
  }

  /** Adds a fault rule. Rules are tried in the order they were added; the first that hits a call decides. */
  inject(rule: FaultRule): FaultHandle {
    const { probability = 1, skip = 0 } = rule;
    const times = rule.times ?? (rule.probability === undefined ? 1 : Number.POSITIVE_INFINITY);
    if (!(probability >= 0 && probability <= 1))
      throw new RangeError(`probability must be in [0, 1], not ${probability}`);
    if (!(times >= 0) || !(skip >= 0)) throw new RangeError('times and skip must be >= 0');
    if (typeof rule.fault === 'object' && !(rule.fault.delayMs >= 0)) throw new RangeError('delayMs must be >= 0');
    const operations =
      rule.operation === undefined || Array.isArray(rule.operation) ? rule.operation : [rule.operation];
    const active: ActiveRule = {
      rule,
      operations: operations as readonly FileSystemOperation[] | undefined,
      matches: matcher(rule.path),
      limit: times,
      skipped: 0,
      hits: 0,
    };
    this.#rules.push(active);
    const rules = this.#rules;
    return {
      rule,
      get hits() {
        return active.hits;
      },
      remove() {
        const i = rules.indexOf(active);
        if (i >= 0) rules.splice(i, 1);
      },
    };
  }

  /** Removes every rule (hanging calls keep hanging until {@link release}). */
  clear(): void {
    this.#rules.length = 0;
  }

  /**
   * Lets every hanging call go on: each reaches the store now and settles as usual.
   * @returns how many calls were released.
   */
  release(): number {
    const hung = this.#hung.splice(0);
    for (const resume of hung) resume();
    return hung.length;
  }

  read(path: string, options?: ReadOptions): Promise<Uint8Array | undefined> {
    return this.#run('read', path, () => this.inner.read(path, options));
  }

  create(path: string, data: Uint8Array, options?: CreateOptions): Promise<void> {
    const copy = Uint8Array.from(data); // the caller may reuse its buffer while a delayed call waits (a copy even of a Buffer)
    return this.#run('create', path, () => this.inner.create(path, copy, options));
  }

  replace(path: string, data: Uint8Array, options?: ReplaceOptions): Promise<void> {
    const copy = Uint8Array.from(data);
    return this.#run('replace', path, () => this.inner.replace(path, copy, options));
  }

  delete(path: string): Promise<void> {
    return this.#run('delete', path, () => this.inner.delete(path));
  }

  /** Lists through the wrapped file system; a fault hits when the iteration starts. */
  async *list(prefix: string, options?: ListOptions): AsyncGenerator<string> {
    const call = this.#record('list', prefix);
    const rule = this.#ruleOf(call);
    if (rule?.fault === 'fail') throw this.#error(rule, call);
    await this.#wait(call.fault);
    yield* this.inner.list(prefix, options);
    if (rule?.fault === 'fail-after') throw this.#error(rule, call);
  }

  /** The wrapped file system's notifications (no faults; a no-op listener when it has none). */
  async watch(folder: string, listener: () => void): Promise<() => Promise<void>> {
    return this.inner.watch ? this.inner.watch(folder, listener) : async () => {};
  }

  /** Forwards to the wrapped file system's `notify` (no faults). */
  async notify(folder: string): Promise<void> {
    await this.inner.notify?.(folder);
  }

  /** Closes the wrapped file system. */
  async close(): Promise<void> {
    await this.inner.close?.();
  }

  async #run<T>(operation: FileSystemOperation, path: string, call: () => Promise<T>): Promise<T> {
    const seen = this.#record(operation, path);
    const rule = this.#ruleOf(seen);
    if (rule?.fault === 'fail') throw this.#error(rule, seen);
    await this.#wait(seen.fault);
    const result = await call();
    if (rule?.fault === 'fail-after') throw this.#error(rule, seen);
    return result;
  }

  #record(operation: FileSystemOperation, path: string): FaultyCall {
    const call: FaultyCall = { operation, path };
    this.calls.push(call);
    return call;
  }

  /** Finds the rule that hits `call`, counts the hit and notes the fault on the call. */
  #ruleOf(call: FaultyCall): FaultRule | undefined {
    for (const active of this.#rules) {
      if (active.hits >= active.limit) continue;
      if (active.operations && !active.operations.includes(call.operation)) continue;
      if (!active.matches(call.path)) continue;
      if (active.skipped < (active.rule.skip ?? 0)) {
        active.skipped++;
        continue;
      }
      const { probability } = active.rule;
      if (probability !== undefined && probability < 1 && this.#random() >= probability) continue;
      active.hits++;
      Object.assign(call, { fault: active.rule.fault });
      return active.rule;
    }
    return undefined;
  }

  async #wait(fault: Fault | undefined): Promise<void> {
    if (fault === 'hang') await new Promise<void>((resolve) => this.#hung.push(resolve));
    else if (typeof fault === 'object') await sleep(fault.delayMs);
  }

  #error(rule: FaultRule, call: FaultyCall): unknown {
    return (rule.error ?? injectedError)(call);
  }
}
