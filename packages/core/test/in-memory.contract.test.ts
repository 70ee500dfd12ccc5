import { InMemoryFileSystem } from '@evsrc/core';
import { describeFileSystemContract, describeRepositoryContract } from '@evsrc/core/testing';

describeFileSystemContract('in-memory', { create: () => new InMemoryFileSystem() });
describeRepositoryContract('in-memory', { create: () => new InMemoryFileSystem() });
