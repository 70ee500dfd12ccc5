import { describe, expect, it, vi } from 'vitest';

// That the README shows this very file is checked by integration/test/docs-samples.test.ts.
describe('README quick start', () => {
  it('runs and prints what the README says it prints', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await import('../src/quickstart.js');
    expect(log.mock.calls).toEqual([[5, 2], [true]]);
    log.mockRestore();
  });
});
