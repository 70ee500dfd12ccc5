import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'reliability',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // One file at a time: the tests spawn processes and time how fast calls fail, and the
    // machines that run them may have two cores.
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
