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
 * **Size limits and early checks.** `read` takes optional {@link ReadOptions}; an adapter
 * that does not know them still works (callers check sizes again after reading), but every
 * evsrc adapter honours them, and the conformance suite checks they do:
 * - `maxBytes`: a file larger than this is refused with a {@link FileTooLargeError} naming
 *   the path, its size and the limit, from the backend's own metadata wherever it tells the
 *   size before the bytes (local disk: `fstat` on the open descriptor; S3 and Azure: the
 *   response's content length, before the body is consumed, which is then dropped; Redis:
 *   `STRLEN`, asked only when a `GETRANGE` of the first MiB did not hold the whole file).
 *   No buffer of the file's size is allocated.
 * - `head`: for a file over {@link HEAD_CHECK_ABOVE} bytes (1 MiB), the adapter calls it once
 *   with the file's first bytes (at least {@link READ_HEAD_BYTES}, 16 KiB) and its size,
 *   before it reads the rest; if it throws, `read` stops and rejects with that error (an
 *   {@link EvsrcError} as thrown; anything else may come wrapped in a {@link StorageError}).
 *   An adapter may call it for smaller files too (local disk, S3, Azure and memory do above
 *   64 KiB, where they read in more than one step anyway), but never makes an extra round
 *   trip for it below 1 MiB; the bytes it is given are valid only during the call. It is an
 *   early refusal of big hostile files, never a substitute for checking the whole file:
 *   small files are read whole, in one step, as before.
 * - Without options too, no read allocates more than the platform's largest buffer: a
 *   bigger file is refused with a {@link FileTooLargeError}.
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

/** Options of {@link FileSystem.replace}. */
export interface ReplaceOptions {
  /** `false`: the file need not survive a crash (the store may skip flushing it). Default true. */
  readonly durable?: boolean;
}

/** Options of {@link FileSystem.create}. */
export interface CreateOptions {
  /**
   * Create the file only if this one exists (the file it follows): otherwise throw
   * {@link MissingPredecessorError} and create nothing.
   */
  requires?: string;
}

/**
 * A file over this many bytes is given to {@link ReadOptions.head} before the rest of it is
 * read (1 MiB); adapters may do so from a lower size.
 */
export const HEAD_CHECK_ABOVE = 1024 * 1024;

/** {@link ReadOptions.head} is given at least this many first bytes of a file (16 KiB; fewer only if the file is shorter). */
export const READ_HEAD_BYTES = 16 * 1024;

/** Options of {@link FileSystem.read}; see "Size limits and early checks" in the module documentation. */
export interface ReadOptions {
  /** Refuse a file over this many bytes with a {@link FileTooLargeError}, without reading it where the size is known first. */
  readonly maxBytes?: number;
  /**
   * Called with the first bytes of a large file (at least {@link READ_HEAD_BYTES}) and its
   * size in bytes, before the rest is read; throw to stop the read with that error.
   */
  readonly head?: (first: Uint8Array, size: number) => void;
}

/** Where evsrc keeps its files. See the module documentation for the full contract. */
export interface FileSystem {
  /**
   * Reads a whole file.
   * @param options a size limit and an early check of large files' first bytes (optional; see {@link ReadOptions}).
   * @returns its bytes, or `undefined` if no file has that name.
   * @throws {FileTooLargeError} when the file is over `options.maxBytes` (or the platform's largest buffer).
   */
  read(path: string, options?: ReadOptions): Promise<Uint8Array | undefined>;

  /**
   * Creates a file only if no file of that name exists, atomically (and, with
   * `options.requires`, only if that file exists).
   * @throws {FileExistsError} if the name is taken (also when another caller wins a race).
   * @throws {MissingPredecessorError} if `options.requires` names a file that does not exist.
   */
  create(path: string, data: Uint8Array, options?: CreateOptions): Promise<void>;

  /**
   * Creates or replaces a file, atomically: readers see the old or the new bytes, never a
   * mix. With `{ durable: false }` the caller does not need the file to survive a crash (a
   * hint: a store may skip flushing it; evsrc passes it for the feed's bell and head hints).
   */
  replace(path: string, data: Uint8Array, options?: ReplaceOptions): Promise<void>;

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
   * How many partitions the change feed of a store on this backend gets when it is turned
   * on without saying (`feed: true`). Optional; default 32 (a store that writers on many
   * machines share over a network). A backend whose writers share one machine and one
   * disk (local disk, memory) says 1: there the saves of a process group into one log
   * entry, which many partitions would spread apart (see `docs/reference/feed.md`).
   */
  readonly feedPartitions?: number;

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
