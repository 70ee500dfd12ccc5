/**
 * The `FileSystem` port: where evsrc's bytes live.
 *
 * ## Contract (every adapter honours it; `@evsrc/core/testing/vitest` checks it)
 *
 * **Names.** A file name is a string of `/`-separated segments: no leading or trailing `/`,
 * no empty segment, no `.` or `..` segment, no NUL, no `\`, at most 1024 UTF-8 bytes
 * ({@link assertValidPath}). Names may contain spaces and any other Unicode. A name must not
 * also be used as a folder of another name (`a/b` and `a/b/c` cannot both exist): evsrc's
 * own layout never does this, and local disk cannot represent it.
 *
 * **Bytes.** Files are opaque, binary-safe byte strings, empty ones included. The bytes a
 * caller passes in or gets back are never retained or shared by the adapter.
 *
 * **Atomicity.** `create` and `replace` are atomic: a reader (in this or any other process)
 * sees either no file or the whole file, never part of it, also after a crash. `create`
 * succeeds for exactly one of any number of concurrent callers; the others get a
 * {@link FileExistsError}. It must use the store's own atomic primitive (exclusive link,
 * `If-None-Match: *`, `SET NX`), never read-then-write.
 *
 * **Predecessors.** `create(path, data, { requires })` creates the file only if the file
 * `requires` exists, else throws {@link MissingPredecessorError} and creates nothing. evsrc
 * names the aggregate's previous batch (or the feed's previous log entry), so that a
 * writer whose store lost files behind its back (a server restart that dropped the last
 * second, a deleted file) cannot write past the hole. Adapters check it atomically with
 * the create where the store can (Redis: one Lua script; memory: one synchronous step);
 * elsewhere they check it just before the create (local disk: `stat`, S3: `HEAD`, Azure:
 * properties), which stops a writer past any hole that exists when it saves.
 *
 * **Order.** `list` yields names in ascending Unicode code point order (the order of
 * their UTF-8 bytes, which is what S3, Azure Blob and Redis sorted sets use), see
 * {@link compareNames}.
 *
 * **Errors.** Failures of the backend are thrown as {@link StorageError} (or another
 * {@link EvsrcError}); a missing file is not an error for `read` (it returns `undefined`)
 * nor for `delete`.
 *
 * @module
 */

/** Options of {@link FileSystem.list}. */
export interface ListOptions {
  /** Yield only names strictly greater than this one (it need not exist). */
  startAfter?: string;
  /** Stop after this many names. */
  limit?: number;
  /** How many names to fetch per request from the backend (a hint; adapters cap it). */
  pageSize?: number;
}

/** Options of {@link FileSystem.create}. */
export interface CreateOptions {
  /**
   * Create the file only if this one exists (the file it follows): otherwise throw
   * {@link MissingPredecessorError} and create nothing.
   */
  requires?: string;
}

/** Where evsrc keeps its files. See the module documentation for the full contract. */
export interface FileSystem {
  /**
   * Reads a whole file.
   * @returns its bytes, or `undefined` if no file has that name.
   */
  read(path: string): Promise<Uint8Array | undefined>;

  /**
   * Creates a file only if no file of that name exists, atomically (and, with
   * `options.requires`, only if that file exists).
   * @throws {FileExistsError} if the name is taken (also when another caller wins a race).
   * @throws {MissingPredecessorError} if `options.requires` names a file that does not exist.
   */
  create(path: string, data: Uint8Array, options?: CreateOptions): Promise<void>;

  /** Creates or replaces a file, atomically: readers see the old or the new bytes, never a mix. */
  replace(path: string, data: Uint8Array): Promise<void>;

  /**
   * Lists the names that start with `prefix` (a plain string prefix, not a glob), in
   * ascending code point order, page by page as the caller iterates.
   */
  list(prefix: string, options?: ListOptions): AsyncIterable<string>;

  /** Deletes a file; deleting a missing file is not an error. */
  delete(path: string): Promise<void>;

  /**
   * How many reads the repository should keep in flight when it loads an aggregate's
   * batch files (network stores want more than local disk). Optional; default 4.
   */
  readonly readConcurrency?: number;

  /**
   * Optional: calls `listener` soon after files under `folder` are created or replaced, by
   * this process or (where the backend can tell) another one. A hint to look again, never
   * a promise: it may come late, more than once, or — after a lost connection — not at
   * all, so callers keep polling, less often.
   * @returns a function that stops listening.
   */
  watch?(folder: string, listener: () => void): Promise<() => Promise<void>>;

  /**
   * Optional: tells the watchers of `folder` in other processes that it changed, for
   * backends whose {@link watch} needs an explicit signal (Redis pub/sub). Best effort.
   */
  notify?(folder: string): Promise<void>;

  /** Releases connections or handles. Optional; the file system is unusable afterwards. */
  close?(): Promise<void>;
}
