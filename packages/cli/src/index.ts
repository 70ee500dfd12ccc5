/**
 * `@evsrc/cli`: the `evsrc` command (`ls`, `show`, `verify`, `copy`) and its commands as
 * functions, for scripts.
 *
 * @packageDocumentation
 */
export { type CopyOptions, type CopyReport, copyStore } from './commands/copy.js';
export { ls } from './commands/ls.js';
export { type ShowOptions, show } from './commands/show.js';
export { type Problem, type VerifyOptions, type VerifyReport, verifyStore } from './commands/verify.js';
export { describeFailure, ExitCode } from './exit-codes.js';
export { type Output, type Progress, processOutput } from './output.js';
export { buildProgram, run } from './program.js';
