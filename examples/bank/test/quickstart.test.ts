import { describe, expect, it, vi } from 'vitest';

describe('README quick start', () => {
  it('runs and prints what the README says it prints', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await import('../src/quickstart.js');
    expect(log.mock.calls).toEqual([[5, 2], [true]]);
    log.mockRestore();
  });
});
