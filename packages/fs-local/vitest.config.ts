import { defineProject } from 'vitest/config';

export default defineProject({
  test: { setupFiles: ['../core/test/support/fast-check-seed.ts'], name: 'fs-local', include: ['test/**/*.test.ts'] },
});
