import type { FileSystem } from '@evsrc/core';
import {
  describeFeedContract,
  describeFileSystemContract,
  describeRepositoryContract,
} from '@evsrc/core/testing/vitest';
import { describeWithRadosgw, disposeFileSystem, openFileSystem, secondClient } from './connection.js';

describeWithRadosgw('S3FileSystem on Ceph radosgw', (c) => {
  const options = {
    // Every test gets a fresh random key prefix in the shared bucket.
    create: () => openFileSystem(c),
    // Same bucket and prefix, through a separately constructed S3Client.
    secondClient: (fs: FileSystem) => secondClient(c, fs),
    dispose: disposeFileSystem,
  };
  describeFileSystemContract('S3 (radosgw)', options);
  describeRepositoryContract('S3 (radosgw)', { ...options, raceRounds: 50 });
  describeFeedContract('S3 (radosgw)', options);
});
