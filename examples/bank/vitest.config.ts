import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'example-bank', include: ['test/**/*.test.ts'] },
});
