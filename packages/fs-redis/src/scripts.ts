/**
 * The Lua scripts that write a file and its folder index in one atomic step.
 *
 * Every script takes `KEYS[1]` = the file's key and `KEYS[2..n]` = folder indexes, nearest
 * first, with `ARGV[i]` = the member to add to (or remove from) `KEYS[i]` for `i >= 2`.
 * `ARGV[1]` is the file's bytes (unused by delete). A script touches only the keys it is
 * given, so callers decide which slots it spans (one slot on a cluster).
 *
 * Redis runs a script atomically and appends its writes to the AOF as one `MULTI`/`EXEC`
 * block, so no client, and no restart, ever sees the file without its index entry or the
 * reverse.
 *
 * @module
 */
import type { Cluster, Redis } from 'ioredis';

/** Creates the file only if its key is absent. Returns 1 if it created it, 0 if the name was taken. */
export const CREATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[i]) end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

/**
 * Creates the file only if its key is absent and the key of the file it follows
 * (`KEYS[2]`, same hash slot) exists; the folder indexes are `KEYS[3..n]` with members
 * `ARGV[3..n]` (`ARGV[2]` is unused). Returns 1 if it created the file, 0 if the name was
 * taken, -1 if the file it follows is missing (then nothing is written).
 */
export const CREATE_AFTER_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
for i = 3, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[i]) end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

/** Creates or overwrites the file. Returns 1. */
export const REPLACE_LUA = `
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[i]) end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

/**
 * Deletes the file and its index entry, then removes each folder left empty from its parent
 * (only among the given keys). Returns 1 if the file existed, else 0.
 */
export const DELETE_LUA = `
local removed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i - 1]) == 1 then break end
  redis.call('ZREM', KEYS[i], ARGV[i])
end
return removed
`;

/** The script commands, as defined on the client (the first argument is the number of keys). */
export interface ScriptCommands {
  /** Runs {@link CREATE_LUA}. */
  evsrcFsCreateV1(numKeys: number, ...keysAndArgs: Array<string | Buffer>): Promise<number>;
  /** Runs {@link CREATE_AFTER_LUA}. */
  evsrcFsCreateAfterV1(numKeys: number, ...keysAndArgs: Array<string | Buffer>): Promise<number>;
  /** Runs {@link REPLACE_LUA}. */
  evsrcFsReplaceV1(numKeys: number, ...keysAndArgs: Array<string | Buffer>): Promise<number>;
  /** Runs {@link DELETE_LUA}. */
  evsrcFsDeleteV1(numKeys: number, ...keysAndArgs: Array<string | Buffer>): Promise<number>;
}

const SCRIPTS: Record<keyof ScriptCommands, string> = {
  evsrcFsCreateV1: CREATE_LUA,
  evsrcFsCreateAfterV1: CREATE_AFTER_LUA,
  evsrcFsReplaceV1: REPLACE_LUA,
  evsrcFsDeleteV1: DELETE_LUA,
};

/**
 * Defines the scripts on the client with ioredis `defineCommand` (EVALSHA, falling back to
 * EVAL when the server does not know the script, e.g. after a restart). The command names
 * carry a version, so two versions of this package can share one client.
 */
export function defineScripts(client: Redis | Cluster): ScriptCommands {
  for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { lua });
  return client as unknown as ScriptCommands;
}
