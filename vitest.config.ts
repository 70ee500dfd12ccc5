import { defineConfig } from 'vitest/config';

// Each package is a vitest project with its own config (adapters start their test servers there).
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*', 'integration', 'reliability'],
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.ci-out/vitest.json' }]] : ['default'],
  },
});
