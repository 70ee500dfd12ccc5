import { isEvsrcError, StorageError } from '../errors.js';

/** Runs a file system call, turning any non-evsrc failure into a {@link StorageError} naming the path. */
export async function storage<T>(operation: string, path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isEvsrcError(error)) throw error;
    throw new StorageError(operation, path, error);
  }
}
