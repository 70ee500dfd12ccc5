import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    setupFiles: ['../core/test/support/fast-check-seed.ts'],
    name: 'fs-azure',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
  },
});
