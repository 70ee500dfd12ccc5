import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    setupFiles: ['../core/test/support/fast-check-seed.ts'],
    name: 'fs-redis',
    include: ['test/**/*.test.ts'],
    // Starts a private redis-server on a free loopback port (never the shared one on 6379).
    globalSetup: ['test/global-setup.ts'],
  },
});
