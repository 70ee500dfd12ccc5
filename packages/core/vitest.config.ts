import { defineProject } from 'vitest/config';

export default defineProject({
  test: { setupFiles: ['test/fast-check-seed.ts'], name: 'core', include: ['test/**/*.test.ts'] },
});
