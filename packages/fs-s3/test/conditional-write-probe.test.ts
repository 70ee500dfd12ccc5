import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  ConfigurationError,
  ErrorCode,
  FileExistsError,
  InvalidPathError,
  isEvsrcError,
  StorageError,
} from '@evsrc/core';
import { PROBE_FOLDER, S3FileSystem } from '@evsrc/fs-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { describeWithRadosgw, disposeFileSystem, openFileSystem } from './connection.js';
import {
  type FakeAnswer,
  type FakeRequest,
  type FakeS3,
  fakeClientConfig,
  ignoringConditions,
  startFakeS3,
} from './fake-s3.js';

const bytes = (s: string) => new TextEncoder().encode(s);

// A real HTTP server stands in for a service that ignores If-None-Match (rather than a client
// middleware that strips the header): the adapter's requests go over the wire unchanged, and
// the fake records exactly what the service was asked.
describe('conditional-write probe against a fake service', () => {
  let fake: FakeS3 | undefined;
  const open = async (answer?: (r: FakeRequest) => FakeAnswer, extra: object = {}) => {
    fake = await startFakeS3(answer);
    return new S3FileSystem({ bucket: 'fake', prefix: 'p', clientConfig: fakeClientConfig(fake), ...extra });
  };
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('refuses to create on a service that ignores If-None-Match, writing nothing but the probe', async () => {
    const fs = await open();
    const err = await fs.create('a/1', bytes('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(isEvsrcError(err, ErrorCode.Configuration)).toBe(true);
    expect((err as Error).message).toMatch(/ignored "If-None-Match: \*"/);
    const requests = fake?.requests ?? [];
    const [first, second, cleanup] = requests;
    expect(requests).toHaveLength(3);
    expect(first?.path).toMatch(new RegExp(`^/fake/p/${PROBE_FOLDER}/[0-9a-f-]{36}$`));
    expect([first?.method, first?.ifNoneMatch]).toEqual(['PUT', '*']);
    expect(second).toEqual(first);
    expect(cleanup).toEqual({ method: 'DELETE', path: first?.path, ifNoneMatch: undefined });
    // The verdict is remembered: later creates fail the same way without asking again.
    await expect(fs.create('a/2', bytes('y'))).rejects.toBeInstanceOf(ConfigurationError);
    expect(requests).toHaveLength(3);
    await fs.close();
  });

  it('writes without the probe when verifyConditionalWrites is false (and then cannot protect history)', async () => {
    const fs = await open(ignoringConditions, { verifyConditionalWrites: false });
    await fs.create('a/1', bytes('x'));
    await fs.create('a/1', bytes('overwritten'));
    expect(fake?.requests.map((r) => [r.method, r.path, r.ifNoneMatch])).toEqual([
      ['PUT', '/fake/p/a/1', '*'],
      ['PUT', '/fake/p/a/1', '*'],
    ]);
    await fs.close();
  });

  it('reports a service that answers 501 to conditional writes as a configuration error', async () => {
    const fs = await open((r) => (r.ifNoneMatch ? { status: 501, code: 'NotImplemented' } : ignoringConditions(r)));
    const err = await fs.create('a/1', bytes('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/does not implement/);
    await fs.close();
  });

  it('throws a StorageError when the probe cannot run, and probes again on the next create', async () => {
    let down = true;
    const fs = await open((r) => (down ? { status: 403, code: 'AccessDenied' } : ignoringConditions(r)));
    const err = await fs.create('a/1', bytes('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    down = false;
    await expect(fs.create('a/1', bytes('x'))).rejects.toBeInstanceOf(ConfigurationError);
    expect(fake?.requests.filter((r) => r.method === 'PUT')).toHaveLength(3);
    await fs.close();
  });

  it('maps 409 ConditionalRequestConflict and 412 PreconditionFailed on create to FileExistsError', async () => {
    let answer: FakeAnswer = { status: 409, code: 'ConditionalRequestConflict' };
    const fs = await open(() => answer, { verifyConditionalWrites: false });
    const conflict = await fs.create('a/1', bytes('x')).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(FileExistsError);
    expect((conflict as FileExistsError).path).toBe('a/1');
    answer = { status: 412, code: 'PreconditionFailed' };
    await expect(fs.create('a/1', bytes('x'))).rejects.toBeInstanceOf(FileExistsError);
    answer = { status: 409, code: 'BucketNotEmpty' };
    await expect(fs.create('a/1', bytes('x'))).rejects.toBeInstanceOf(StorageError);
    await fs.close();
  });
});

describeWithRadosgw('conditional-write probe on radosgw', (c) => {
  it('passes, removes its probe object, and create works', async () => {
    const fs = openFileSystem(c);
    try {
      await fs.verifyConditionalWrites();
      const raw = await fs.client.send(new ListObjectsV2Command({ Bucket: c.bucket, Prefix: fs.keyPrefix }));
      expect(raw.KeyCount ?? 0).toBe(0);
      await fs.create('a/1', bytes('x'));
      await expect(fs.create('a/1', bytes('y'))).rejects.toBeInstanceOf(FileExistsError);
    } finally {
      await disposeFileSystem(fs);
    }
  });

  it('reserves the probe folder: no file name may start with it and listings hide it', async () => {
    const fs = openFileSystem(c);
    try {
      for (const bad of [PROBE_FOLDER, `${PROBE_FOLDER}/x`]) {
        await expect(fs.create(bad, bytes('x'))).rejects.toBeInstanceOf(InvalidPathError);
        await expect(fs.read(bad)).rejects.toBeInstanceOf(InvalidPathError);
      }
      // A leftover probe object (e.g. after a crash between its put and its delete).
      await fs.client.send(
        new PutObjectCommand({ Bucket: c.bucket, Key: `${fs.keyPrefix}${PROBE_FOLDER}/left`, Body: bytes('') }),
      );
      await fs.create('z', bytes('z'));
      const names: string[] = [];
      for await (const n of fs.list('')) names.push(n);
      expect(names).toEqual(['z']);
    } finally {
      await fs.client.send(new DeleteObjectCommand({ Bucket: c.bucket, Key: `${fs.keyPrefix}${PROBE_FOLDER}/left` }));
      await disposeFileSystem(fs);
    }
  });
});
