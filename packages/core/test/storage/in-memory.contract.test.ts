import { InMemoryFileSystem } from '@evsrc/core';
import {
  describeFeedContract,
  describeFileSystemContract,
  describeRepositoryContract,
} from '@evsrc/core/testing/vitest';

describeFileSystemContract('in-memory', { create: () => new InMemoryFileSystem() });
describeRepositoryContract('in-memory', { create: () => new InMemoryFileSystem() });
describeFeedContract('in-memory', { create: () => new InMemoryFileSystem(), notifies: true });
