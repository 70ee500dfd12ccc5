import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ErrorCode, FileExistsError, InvalidPathError, isEvsrcError, StorageError } from '@evsrc/core';
import { collect } from '@evsrc/core/testing';
import { S3FileSystem } from '@evsrc/fs-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  clientConfig,
  describeWithRadosgw,
  disposeFileSystem,
  freshPrefix,
  newClient,
  openFileSystem,
  secondClient,
} from './connection.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

/** Records the commands a client sends (name and input) through a middleware. */
function recordCommands(client: S3Client): { name: string; input: Record<string, unknown> }[] {
  const seen: { name: string; input: Record<string, unknown> }[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      seen.push({ name: context.commandName ?? '', input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'evsrcTestRecorder' },
  );
  return seen;
}

async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

describeWithRadosgw('S3FileSystem on radosgw', (c) => {
  it('rejects a second PutObject with If-None-Match: * as FileExistsError and keeps the old content', async () => {
    const fs = openFileSystem(c);
    const other = secondClient(c, fs);
    try {
      await fs.create('e/1', bytes('first'));
      const again = await fs.create('e/1', bytes('second')).catch((e: unknown) => e);
      const fromOther = await other.create('e/1', bytes('third')).catch((e: unknown) => e);
      for (const err of [again, fromOther]) {
        expect(err).toBeInstanceOf(FileExistsError);
        expect(isEvsrcError(err, ErrorCode.FileExists)).toBe(true);
      }
      // Read the object directly, without the adapter, under its full key.
      const raw = await fs.client.send(new GetObjectCommand({ Bucket: c.bucket, Key: `${fs.keyPrefix}e/1` }));
      expect(text(await raw.Body?.transformToByteArray())).toBe('first');
    } finally {
      await disposeFileSystem(other);
      await disposeFileSystem(fs);
    }
  });

  it('stores each file as one object under the key prefix, adding a "/" to a bare prefix', async () => {
    const bare = freshPrefix().slice(0, -1);
    const fs = new S3FileSystem({ bucket: c.bucket, prefix: bare, clientConfig: clientConfig(c) });
    try {
      expect(fs.keyPrefix).toBe(`${bare}/`);
      await fs.create('a/b c', bytes('1'));
      await fs.replace('a/d', bytes('2'));
      const raw = await fs.client.send(new ListObjectsV2Command({ Bucket: c.bucket, Prefix: bare }));
      expect(raw.Contents?.map((o) => o.Key)).toEqual([`${bare}/a/b c`, `${bare}/a/d`]);
    } finally {
      await disposeFileSystem(fs);
    }
  });

  it('hides keys that are no valid file name, such as folder markers', async () => {
    const fs = openFileSystem(c);
    try {
      await fs.create('f/x', bytes('1'));
      await fs.client.send(new PutObjectCommand({ Bucket: c.bucket, Key: `${fs.keyPrefix}f/`, Body: bytes('') }));
      expect(await collect(fs.list(''))).toEqual(['f/x']);
    } finally {
      await fs.client.send(new PutObjectCommand({ Bucket: c.bucket, Key: `${fs.keyPrefix}f/`, Body: bytes('') }));
      await fs.deleteMany(['f/x']);
      await fs.close();
    }
  });

  it('lists and deletes names with control and special characters exactly', async () => {
    const fs = openFileSystem(c);
    try {
      const names = ['c/\u0001x', 'c/cr\rlf\n', 'c/a+b', 'c/a b', 'c/a%20b', 'c/<&>"\'', 'c/tab\there'];
      for (const n of names) await fs.create(n, bytes(n));
      expect(await collect(fs.list('c/'))).toEqual([...names].sort());
      for (const n of names) expect(text(await fs.read(n))).toBe(n);
      // DeleteObjects' XML body cannot carry control characters: those go one by one.
      await fs.deleteMany(names);
      expect(await collect(fs.list(''))).toEqual([]);
    } finally {
      await disposeFileSystem(fs);
    }
  });

  it('rejects names that the key prefix pushes past S3’s 1024-byte key limit', async () => {
    const fs = openFileSystem(c);
    try {
      const name = 'x'.repeat(1024 - fs.keyPrefix.length);
      await fs.replace(name, bytes('fits'));
      expect(text(await fs.read(name))).toBe('fits');
      await expect(fs.replace(`${name}y`, bytes('too long'))).rejects.toBeInstanceOf(InvalidPathError);
    } finally {
      await disposeFileSystem(fs);
    }
  });

  it('turns backend failures into StorageErrors that name the file', async () => {
    const fs = new S3FileSystem({ bucket: 'no-such-bucket', prefix: 'p', clientConfig: clientConfig(c) });
    try {
      for (const [op, call] of [
        ['read', () => fs.read('a/1')],
        ['replace', () => fs.replace('a/1', bytes('x'))],
        ['delete', () => fs.delete('a/1')],
        ['list', () => collect(fs.list('a/'))],
      ] as const) {
        const err = await (call as () => Promise<unknown>)().catch((e: unknown) => e);
        expect(err, op).toBeInstanceOf(StorageError);
        expect((err as StorageError).path, op).toBe(op === 'list' ? 'a/' : 'a/1');
        expect((err as StorageError).operation, op).toBe(op);
      }
      await expect(fs.create('a/1', bytes('x'))).rejects.toBeInstanceOf(StorageError);
    } finally {
      await fs.close();
    }
  });

  it('keeps a client it was given open after close()', async () => {
    const client = newClient(c);
    const fs = new S3FileSystem({ bucket: c.bucket, prefix: freshPrefix(), client });
    await fs.close();
    const out = await client.send(new ListObjectsV2Command({ Bucket: c.bucket, Prefix: fs.keyPrefix }));
    expect(out.KeyCount ?? 0).toBe(0);
    client.destroy();
  });
});

describeWithRadosgw('S3FileSystem with thousands of files on radosgw', (c) => {
  const names = Array.from({ length: 2345 }, (_, i) => `n/${String(i).padStart(5, '0')}`);
  let fs: S3FileSystem;
  let commands: { name: string; input: Record<string, unknown> }[];

  beforeAll(async () => {
    const client = newClient(c);
    commands = recordCommands(client);
    fs = new S3FileSystem({ bucket: c.bucket, prefix: freshPrefix(), client });
    await inParallel(names, 32, (n) => fs.replace(n, bytes(n)));
  });
  afterAll(async () => {
    await disposeFileSystem(fs);
  });

  it('lists across pages in order, resuming with continuation tokens', async () => {
    commands.length = 0;
    expect(await collect(fs.list('n/'))).toEqual(names);
    const lists = commands.filter((x) => x.name === 'ListObjectsV2Command');
    expect(lists).toHaveLength(3);
    expect(lists.map((x) => typeof x.input.ContinuationToken)).toEqual(['undefined', 'string', 'string']);
  });

  it('starts after a given name (StartAfter) and keeps paging from there', async () => {
    commands.length = 0;
    expect(await collect(fs.list('n/', { startAfter: 'n/01200', pageSize: 500 }))).toEqual(names.slice(1201));
    const lists = commands.filter((x) => x.name === 'ListObjectsV2Command');
    expect(lists[0]?.input).toMatchObject({ StartAfter: `${fs.keyPrefix}n/01200`, MaxKeys: 500 });
    expect(lists).toHaveLength(3);
    expect(await collect(fs.list('n/', { startAfter: 'n/00999x', limit: 3 }))).toEqual(names.slice(1000, 1003));
  });

  it('deletes more than 1000 files with DeleteObjects in chunks of 1000', async () => {
    const keep = ['n/00000', 'n/01000', 'n/02344'];
    const doomed = names.filter((n) => !keep.includes(n));
    commands.length = 0;
    await fs.deleteMany([...doomed, 'n/never-existed', doomed[0] as string]);
    const deletes = commands.filter((x) => x.name === 'DeleteObjectsCommand');
    expect(deletes.map((x) => (x.input.Delete as { Objects: unknown[] }).Objects.length)).toEqual([1000, 1000, 343]);
    expect(await collect(fs.list('n/'))).toEqual(keep);
    expect(text(await fs.read('n/01000'))).toBe('n/01000');
    expect(await fs.read('n/00001')).toBeUndefined();
  });

  it('checks every name before deleting any', async () => {
    await expect(fs.deleteMany(['n/00000', 'bad//name'])).rejects.toBeInstanceOf(InvalidPathError);
    expect(await fs.read('n/00000')).toBeDefined();
  });
});
