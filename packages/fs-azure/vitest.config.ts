import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'fs-azure', include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] },
});
