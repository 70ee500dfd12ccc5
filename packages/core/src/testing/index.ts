/**
 * `@evsrc/core/testing`: the testing kit, for any test runner — given/when/then
 * specifications for aggregates, a fake clock, helpers to seed an in-memory store, and a
 * fault-injecting `FileSystem` wrapper. The conformance suites for `FileSystem` adapters
 * (vitest, fast-check) are in `@evsrc/core/testing/vitest`.
 *
 * @packageDocumentation
 */

export { collect } from './collect.js';
export { FakeClock } from './fake-clock.js';
export {
  type Fault,
  type FaultHandle,
  type FaultRule,
  type FaultyCall,
  FaultyFileSystem,
  type FaultyFileSystemOptions,
  type FileSystemOperation,
} from './faulty-file-system.js';
export { TestAccount, TestDeposited, TestOpened, testAccountType } from './sample-domain.js';
export { seedEvents, type TestRepository, testRepository } from './seed.js';
export { seededRandom } from './seeded-random.js';
export {
  type AggregateSpecification,
  type Command,
  type ExpectedError,
  type Given,
  type Outcome,
  specification,
} from './specification.js';
