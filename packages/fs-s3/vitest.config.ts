import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    setupFiles: ['../core/test/support/fast-check-seed.ts'],
    name: 'fs-s3',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
