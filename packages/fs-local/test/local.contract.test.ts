import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileSystem } from '@evsrc/core';
import {
  describeFeedContract,
  describeFileSystemContract,
  describeRepositoryContract,
} from '@evsrc/core/testing/vitest';
import { LocalFileSystem } from '@evsrc/fs-local';

const open = async () => new LocalFileSystem({ root: await mkdtemp(join(tmpdir(), 'evsrc-local-')) });
const options = {
  create: open,
  // A second LocalFileSystem object on the same folder: its own state, the same disk.
  secondClient: (fs: FileSystem) => new LocalFileSystem({ root: (fs as LocalFileSystem).root }),
  dispose: async (fs: FileSystem) => rm((fs as LocalFileSystem).root, { recursive: true, force: true }),
};

describeFileSystemContract('local disk', options);
describeRepositoryContract('local disk', options);
describeFeedContract('local disk', { ...options, notifies: true });
