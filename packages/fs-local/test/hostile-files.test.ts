import { constants } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Aggregate, aggregateType, ChangeEvent, ErrorCode, isEvsrcError, Repository } from '@evsrc/core';
import { checkReadSize } from '@evsrc/core/adapter';
import { batchPath } from '@evsrc/core/internals';
import { LocalFileSystem } from '@evsrc/fs-local';
import { afterEach, describe, expect, it } from 'vitest';

class Note extends Aggregate {
  static readonly type = 'note';
}
class Written extends ChangeEvent<Note> {
  static readonly type = 'written';
  applyOn() {}
}

const GiB = 1024 ** 3;
/** The largest buffer this Node can allocate (4 GiB on Node 20). */
const MAX_READ_BYTES = constants.MAX_LENGTH;
const path = batchPath('note', 'n', 1);
const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

/** A store holding, at the place of note n's first batch, a sparse file of `size` zero bytes (no disk space used). */
async function storeWithSparseBatch(size: number) {
  const root = await mkdtemp(join(tmpdir(), 'evsrc-hostile-'));
  roots.push(root);
  const file = join(root, ...path.split('/'));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, '');
  await truncate(file, size);
  const fs = new LocalFileSystem({ root });
  return {
    fs,
    repository: new Repository({ fileSystem: fs, aggregates: [aggregateType(Note, { events: [Written] })] }),
  };
}

/** Bytes this process has passed to read(2) so far (Linux). */
const bytesRead = () => Number(/rchar:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);

describe('LocalFileSystem: hostile files', () => {
  it('refuses a 3 GB (sparse) batch file from its size with a typed error, reading none of it', async () => {
    const { repository } = await storeWithSparseBatch(3 * GiB);
    const err = await repository.get(Note, 'n').catch((e: unknown) => e);
    expect(isEvsrcError(err, ErrorCode.FileTooLarge)).toBe(true);
    expect(err).toMatchObject({ path, size: 3 * GiB, limit: 256 * 1024 * 1024 });
    expect(String(err)).toContain(`${path} is too large: it is ${3 * GiB} bytes`);
  });

  it('refuses a file over the largest buffer with a typed error even without maxBytes', async () => {
    // Node 20's largest buffer is 4 GiB: a sparse file just over it, end to end. Newer Nodes
    // allow 2^53 - 1 bytes, more than any local file can hold: there the size check itself.
    const err =
      MAX_READ_BYTES <= 4 * GiB
        ? await (await storeWithSparseBatch(MAX_READ_BYTES + 1)).fs.read(path).catch((e: unknown) => e)
        : (() => {
            try {
              checkReadSize(path, MAX_READ_BYTES + 1, undefined);
            } catch (e) {
              return e;
            }
          })();
    expect(isEvsrcError(err, ErrorCode.FileTooLarge)).toBe(true);
    expect(err).toMatchObject({ path, size: MAX_READ_BYTES + 1, limit: MAX_READ_BYTES });
  });

  it.runIf(existsSync('/proc/self/io'))(
    'refuses a 100 MB file that is not an evsrc file after reading only its first 64 KiB',
    async () => {
      const { repository } = await storeWithSparseBatch(100 * 1000 * 1000);
      const before = bytesRead();
      const err = await repository.get(Note, 'n').catch((e: unknown) => e);
      const read = bytesRead() - before;
      expect(isEvsrcError(err, ErrorCode.CorruptFile)).toBe(true);
      expect(String(err)).toMatch(/no header line/);
      expect(read).toBeLessThan(1024 * 1024);
    },
  );
});
