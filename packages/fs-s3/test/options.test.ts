import { S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError, StorageError } from '@evsrc/core';
import { createS3FileSystem, DEFAULT_READ_CONCURRENCY, S3FileSystem } from '@evsrc/fs-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeS3, fakeClientConfig, ignoringConditions, startFakeS3 } from './fake-s3.js';

describe('S3FileSystem options', () => {
  it('sets readConcurrency (default 16) for the repository’s parallel loads', () => {
    expect(createS3FileSystem({ bucket: 'b' }).readConcurrency).toBe(DEFAULT_READ_CONCURRENCY);
    expect(DEFAULT_READ_CONCURRENCY).toBe(16);
    expect(new S3FileSystem({ bucket: 'b', readConcurrency: 40 }).readConcurrency).toBe(40);
  });

  it('refuses inconsistent options with a ConfigurationError', () => {
    const client = new S3Client({ region: 'us-east-1' });
    const bad = [
      { bucket: '' },
      { bucket: 'b', client, clientConfig: { region: 'us-east-1' } },
      { bucket: 'b', client, maxAttempts: 5 },
      { bucket: 'b', client, retryMode: 'adaptive' as const },
      { bucket: 'b', maxAttempts: 0 },
      { bucket: 'b', readConcurrency: 0 },
      { bucket: 'b', prefix: '/abs' },
      { bucket: 'b', prefix: 'a//b' },
    ];
    for (const options of bad) {
      expect(() => new S3FileSystem(options), JSON.stringify({ ...options, client: undefined })).toThrow(
        ConfigurationError,
      );
    }
    client.destroy();
  });

  it('passes maxAttempts and retryMode to the client it builds', async () => {
    const fs = new S3FileSystem({
      bucket: 'b',
      clientConfig: { region: 'us-east-1' },
      maxAttempts: 7,
      retryMode: 'adaptive',
    });
    expect(await fs.client.config.maxAttempts()).toBe(7);
    expect(((await fs.client.config.retryStrategy()) as { mode?: string }).mode).toBe('adaptive');
    expect(await fs.client.config.region()).toBe('us-east-1');
    await fs.close();
  });

  it('uses the client it is given', () => {
    const client = new S3Client({ region: 'us-east-1' });
    expect(new S3FileSystem({ bucket: 'b', client }).client).toBe(client);
    client.destroy();
  });
});

describe('retries of transient failures (fake service)', () => {
  let fake: FakeS3 | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const flaky = async (failures: number) => {
    let failed = 0;
    fake = await startFakeS3((r) => (failed++ < failures ? { status: 503, code: 'SlowDown' } : ignoringConditions(r)));
    return fake;
  };

  it('retries a 503 with the SDK’s strategy until it succeeds within maxAttempts', async () => {
    const f = await flaky(2);
    const fs = new S3FileSystem({ bucket: 'b', clientConfig: fakeClientConfig(f), maxAttempts: 3 });
    await fs.replace('a/1', new Uint8Array([1]));
    expect(f.requests.map((r) => r.method)).toEqual(['PUT', 'PUT', 'PUT']);
    await fs.close();
  });

  it('gives up after maxAttempts with a StorageError naming the file', async () => {
    const f = await flaky(5);
    const fs = new S3FileSystem({ bucket: 'b', clientConfig: fakeClientConfig(f), maxAttempts: 2 });
    const err = await fs.replace('a/1', new Uint8Array([1])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).path).toBe('a/1');
    expect(f.requests).toHaveLength(2);
    await fs.close();
  });
});
