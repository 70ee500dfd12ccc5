import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'fs-local', include: ['test/**/*.test.ts'] },
});
