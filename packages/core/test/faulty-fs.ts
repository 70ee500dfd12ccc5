import type { FileSystem, ListOptions } from '@evsrc/core';

type Op = 'read' | 'create' | 'replace' | 'delete';

/** A test wrapper: the next matching call fails, before or after it reached the store. */
export class FaultyFileSystem implements FileSystem {
  faults: { op: Op; match: RegExp; after: boolean; times: number }[] = [];
  constructor(readonly inner: FileSystem) {}

  /** Make the next `times` calls of `op` on names matching `match` fail (after doing the work if `after`). */
  fail(op: Op, match: RegExp, options: { after?: boolean; times?: number } = {}): void {
    this.faults.push({ op, match, after: options.after ?? false, times: options.times ?? 1 });
  }

  async #run<T>(op: Op, path: string, call: () => Promise<T>): Promise<T> {
    const fault = this.faults.find((f) => f.op === op && f.times > 0 && f.match.test(path));
    if (!fault) return call();
    fault.times--;
    if (fault.after) await call();
    throw new Error(`injected ${op} failure on ${path}${fault.after ? ' (after it succeeded)' : ''}`);
  }

  read(path: string) {
    return this.#run('read', path, () => this.inner.read(path));
  }
  create(path: string, data: Uint8Array) {
    return this.#run('create', path, () => this.inner.create(path, data));
  }
  replace(path: string, data: Uint8Array) {
    return this.#run('replace', path, () => this.inner.replace(path, data));
  }
  delete(path: string) {
    return this.#run('delete', path, () => this.inner.delete(path));
  }
  list(prefix: string, options?: ListOptions) {
    return this.inner.list(prefix, options);
  }
}
