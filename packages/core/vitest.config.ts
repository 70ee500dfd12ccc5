import { defineProject } from 'vitest/config';

export default defineProject({
  test: { setupFiles: ['test/support/fast-check-seed.ts'], name: 'core', include: ['test/**/*.test.ts'] },
});
