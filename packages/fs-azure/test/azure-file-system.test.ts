import { type AddressInfo, createServer, type Socket } from 'node:net';
import { ErrorCode, FileExistsError, InvalidPathError, isEvsrcError, StorageError } from '@evsrc/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AzureFileSystem, createAzureFileSystem } from '../src/index.js';
import {
  blobNames,
  collect,
  connectionString,
  containerClientWithKey,
  describeAzurite,
  freshContainer,
  freshPrefix,
  rawService,
} from './azurite.js';
import { type SeenRequest, startProxy, type TestProxy } from './proxy.js';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

const isList = (r: SeenRequest) => r.method === 'GET' && r.url.searchParams.get('comp') === 'list';
const isBlobPut = (r: SeenRequest) =>
  r.method === 'PUT' && r.url.searchParams.get('restype') === null && r.url.searchParams.get('comp') === null;

describe('AzureFileSystem options (no server)', () => {
  it('needs a container client, a service client or a connection string', () => {
    const err = (() => {
      try {
        return new AzureFileSystem({} as never);
      } catch (e) {
        return e;
      }
    })();
    expect(isEvsrcError(err, ErrorCode.Configuration)).toBe(true);
  });

  it('rejects a malformed connection string without echoing it', () => {
    const secret = 'AccountName=x;AccountKey=s3cr3t-not-base64!;Nonsense';
    const err = (() => {
      try {
        return new AzureFileSystem({ connectionString: secret, container: 'c' });
      } catch (e) {
        return e;
      }
    })();
    expect(isEvsrcError(err, ErrorCode.Configuration)).toBe(true);
    expect(String((err as Error).message)).not.toContain('s3cr3t');
  });

  it('rejects an invalid prefix, container name or number', () => {
    const service = rawServiceOffline();
    expect(() => new AzureFileSystem({ serviceClient: service, container: 'c', prefix: 'a//b' })).toThrow(/prefix/);
    expect(() => new AzureFileSystem({ serviceClient: service, container: '' })).toThrow(/container/);
    expect(() => new AzureFileSystem({ serviceClient: service, container: 'c', readConcurrency: 0 })).toThrow(
      /readConcurrency/,
    );
  });

  it('makes the prefix a folder and defaults readConcurrency to 16', () => {
    const service = rawServiceOffline();
    const fs = new AzureFileSystem({ serviceClient: service, container: 'c', prefix: 'tenant-a' });
    expect(fs.prefix).toBe('tenant-a/');
    expect(fs.readConcurrency).toBe(16);
    expect(new AzureFileSystem({ serviceClient: service, container: 'c', readConcurrency: 32 }).readConcurrency).toBe(
      32,
    );
    expect(new AzureFileSystem({ serviceClient: service, container: 'c' }).prefix).toBe('');
  });

  it('ends each call after operationTimeoutMs when the service never answers', async () => {
    // A server that accepts connections and answers nothing, like a hung host.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const fs = createAzureFileSystem({
        connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`,
        container: 'c',
        operationTimeoutMs: 300,
        retryOptions: { maxTries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 10 },
      });
      const calls: [string, () => Promise<unknown>][] = [
        ['read', () => fs.read('a/b')],
        ['create', () => fs.create('a/b', text('x'))],
        ['list', () => collect(fs.list('a/'))],
      ];
      for (const [operation, call] of calls) {
        const error = await call().catch((e: unknown) => e);
        expect(error, operation).toBeInstanceOf(StorageError);
        expect((error as StorageError).message).toMatch(/no answer within 300 ms \(operationTimeoutMs\)/);
      }
      expect(
        () => new AzureFileSystem({ serviceClient: rawServiceOffline(), container: 'c', operationTimeoutMs: 0 }),
      ).toThrow(/operationTimeoutMs/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

/** A service client for an endpoint nobody is asked about (the constructor makes no request). */
function rawServiceOffline() {
  return rawService(
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;',
  );
}

describeAzurite('AzureFileSystem on Azurite', () => {
  const shared = freshContainer();
  beforeAll(async () => {
    await rawService().getContainerClient(shared).create();
  });
  afterAll(async () => {
    await rawService().getContainerClient(shared).deleteIfExists();
  });

  describe('the three ways to point it at a container', () => {
    it('a ContainerClient: the blob is named prefix + path, exactly', async () => {
      const prefix = freshPrefix();
      const fs = createAzureFileSystem({ containerClient: containerClientWithKey(shared), prefix });
      const names = ['a/with space', 'a/100%', 'a/%2e%2e', 'a/café', 'a/😀 emoji'];
      for (const n of names) await fs.create(n, text(n));
      const raw = rawService().getContainerClient(shared);
      expect((await blobNames(raw, prefix)).sort()).toEqual(names.map((n) => prefix + n).sort());
      for (const n of names) {
        expect((await raw.getBlobClient(prefix + n).downloadToBuffer()).toString('utf8')).toBe(n);
      }
    });

    it('a BlobServiceClient and a container name', async () => {
      const prefix = freshPrefix();
      const fs = createAzureFileSystem({ serviceClient: rawService(), container: shared, prefix });
      await fs.create('x', text('via service client'));
      const raw = rawService().getContainerClient(shared);
      expect((await raw.getBlobClient(`${prefix}x`).downloadToBuffer()).toString()).toBe('via service client');
    });

    it('a connection string and a container name, creating the container on the first write', async () => {
      const container = freshContainer();
      const fs = createAzureFileSystem({ connectionString: connectionString(), container });
      try {
        expect(await fs.read('missing')).toBeUndefined();
        expect(await collect(fs.list(''))).toEqual([]);
        await fs.delete('missing');
        expect(await rawService().getContainerClient(container).exists()).toBe(false);
        await fs.create('first', text('1'));
        expect(await rawService().getContainerClient(container).exists()).toBe(true);
        expect(str(await fs.read('first'))).toBe('1');
      } finally {
        await rawService().getContainerClient(container).deleteIfExists();
      }
    });

    it('with createContainer: false, a write to a missing container is a StorageError naming the path', async () => {
      const container = freshContainer();
      const fs = createAzureFileSystem({ connectionString: connectionString(), container, createContainer: false });
      const err = await fs.create('a/b', text('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).path).toBe('a/b');
      expect(await rawService().getContainerClient(container).exists()).toBe(false);
    });

    it('keeps prefixes apart in one container', async () => {
      const one = createAzureFileSystem({ serviceClient: rawService(), container: shared, prefix: freshPrefix() });
      const two = createAzureFileSystem({ serviceClient: rawService(), container: shared, prefix: freshPrefix() });
      await one.create('same', text('one'));
      await two.create('same', text('two'));
      expect(str(await one.read('same'))).toBe('one');
      expect(str(await two.read('same'))).toBe('two');
      expect(await collect(one.list(''))).toEqual(['same']);
    });
  });

  describe('create maps the service’s refusals to FileExistsError', () => {
    let proxy: TestProxy;
    beforeAll(async () => {
      proxy = await startProxy(connectionString());
    });
    afterAll(async () => {
      await proxy.close();
    });
    afterEach(() => {
      proxy.intercept = () => undefined;
    });

    it('409 BlobAlreadyExists: a blob written by another program, with If-None-Match: * on the wire', async () => {
      const prefix = freshPrefix();
      await rawService().getContainerClient(shared).getBlockBlobClient(`${prefix}taken`).upload('theirs', 6);
      const fs = createAzureFileSystem({ connectionString: proxy.connectionString, container: shared, prefix });
      const before = proxy.requests.length;
      const err = await fs.create('taken', text('ours')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FileExistsError);
      expect((err as FileExistsError).path).toBe('taken');
      const puts = proxy.requests.slice(before).filter(isBlobPut);
      expect(puts).toHaveLength(1); // no check-then-put: one conditional Put Blob
      expect(puts[0]?.headers['if-none-match']).toBe('*');
      expect(str(await fs.read('taken'))).toBe('theirs');
    });

    it('412 ConditionNotMet', async () => {
      const prefix = freshPrefix();
      const fs = createAzureFileSystem({ connectionString: proxy.connectionString, container: shared, prefix });
      await fs.create('k', text('first'));
      proxy.intercept = (r) => (isBlobPut(r) ? { status: 412, code: 'ConditionNotMet' } : undefined);
      const err = await fs.create('k', text('second')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FileExistsError);
    });

    it('other conflicts are StorageErrors, not FileExistsError', async () => {
      const fs = createAzureFileSystem({
        connectionString: proxy.connectionString,
        container: shared,
        prefix: freshPrefix(),
      });
      proxy.intercept = (r) => (isBlobPut(r) ? { status: 409, code: 'LeaseIdMissing' } : undefined);
      const err = await fs.create('k', text('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).path).toBe('k');
    });

    it('staged uploads (above maxSingleShotSize) are just as exclusive, and replace stays whole', async () => {
      const fs = createAzureFileSystem({
        connectionString: proxy.connectionString,
        container: shared,
        prefix: freshPrefix(),
        maxSingleShotSize: 1024,
      });
      const big = new Uint8Array(10_000).map((_, i) => i % 251);
      const before = proxy.requests.length;
      await fs.create('big', big);
      const used = proxy.requests.slice(before).map((r) => r.url.searchParams.get('comp'));
      expect(used).toContain('block');
      expect(used).toContain('blocklist');
      expect(Buffer.from((await fs.read('big')) as Uint8Array).equals(Buffer.from(big))).toBe(true);
      await expect(fs.create('big', new Uint8Array(5000))).rejects.toBeInstanceOf(FileExistsError);
      const other = new Uint8Array(20_000).fill(7);
      await fs.replace('big', other);
      expect(Buffer.from((await fs.read('big')) as Uint8Array).equals(Buffer.from(other))).toBe(true);
    });
  });

  describe('list with startAfter', () => {
    let proxy: TestProxy;
    let fs: AzureFileSystem;
    const names = Array.from({ length: 60 }, (_, i) => `p/${String(i).padStart(3, '0')}`);
    beforeAll(async () => {
      proxy = await startProxy(connectionString());
      fs = createAzureFileSystem({
        connectionString: proxy.connectionString,
        container: shared,
        prefix: freshPrefix(),
      });
      await Promise.all([...names, 'q/0', 'o/9'].map((n) => fs.create(n, text(n))));
    });
    afterAll(async () => {
      await proxy.close();
    });
    const listRequests = async (run: () => Promise<unknown>) => {
      const before = proxy.requests.length;
      await run();
      return proxy.requests.slice(before).filter(isList);
    };

    it('pages across small pages, starting after a name that exists or not', async () => {
      expect(await collect(fs.list('p/', { pageSize: 4, startAfter: 'p/010' }))).toEqual(names.slice(11));
      expect(await collect(fs.list('p/', { pageSize: 4, startAfter: 'p/010x' }))).toEqual(names.slice(11));
      expect(await collect(fs.list('p/', { pageSize: 3, startAfter: 'p/050', limit: 4 }))).toEqual(names.slice(51, 55));
      expect(await collect(fs.list('', { pageSize: 2, startAfter: 'p/057' }))).toEqual(['p/058', 'p/059', 'q/0']);
    });

    it('asks the service to start there (startFrom, with the store prefix) on every page', async () => {
      const requests = await listRequests(() => collect(fs.list('p/', { pageSize: 4, startAfter: 'p/049' })));
      expect(requests.length).toBeGreaterThan(0);
      for (const r of requests) {
        expect(r.url.searchParams.get('startFrom')).toBe(`${fs.prefix}p/049`);
        expect(r.url.searchParams.get('prefix')).toBe(`${fs.prefix}p/`);
      }
      const plain = await listRequests(() => collect(fs.list('p/', { pageSize: 4 })));
      for (const r of plain) expect(r.url.searchParams.has('startFrom')).toBe(false);
    });

    it('skips in the largest pages where the service ignores startFrom, instead of page by page', async () => {
      const requests = await listRequests(async () => {
        expect(await collect(fs.list('p/', { pageSize: 4, startAfter: 'p/049' }))).toEqual(names.slice(50));
      });
      // Page by page from the start would be 15 requests of 4. Azurite 3.35 ignores startFrom: one
      // page of 4, then one of 5000. A service that honours it: 3 pages of 4 from p/049.
      expect(requests.length).toBeLessThanOrEqual(3);
      expect(requests[0]?.url.searchParams.get('maxresults')).toBe('4');
    });

    it('makes no request when startAfter is past the prefix, and asks for no more than the limit', async () => {
      expect(await listRequests(() => collect(fs.list('p/', { startAfter: 'p0' })))).toHaveLength(0);
      const limited = await listRequests(() => collect(fs.list('p/', { pageSize: 100, limit: 3 })));
      expect(limited.map((r) => r.url.searchParams.get('maxresults'))).toEqual(['3']);
    });

    it('does not send startFrom when turned off, and still honours startAfter', async () => {
      const off = createAzureFileSystem({
        connectionString: proxy.connectionString,
        container: shared,
        prefix: fs.prefix,
        listStartFrom: false,
      });
      const requests = await listRequests(async () => {
        expect(await collect(off.list('p/', { startAfter: 'p/057' }))).toEqual(['p/058', 'p/059']);
      });
      for (const r of requests) expect(r.url.searchParams.has('startFrom')).toBe(false);
    });
  });

  describe('transient failures', () => {
    let proxy: TestProxy;
    beforeAll(async () => {
      proxy = await startProxy(connectionString());
    });
    afterAll(async () => {
      await proxy.close();
    });

    const failingTwice = () => {
      let failures = 0;
      proxy.intercept = (r) => (isBlobPut(r) && failures++ < 2 ? { status: 503, code: 'ServerBusy' } : undefined);
    };
    const fast = { retryDelayInMs: 1, maxRetryDelayInMs: 2 };

    it('are retried by the SDK’s policy, configured through retryOptions', async () => {
      failingTwice();
      const fs = createAzureFileSystem({
        connectionString: proxy.connectionString,
        container: shared,
        prefix: freshPrefix(),
        retryOptions: { ...fast, maxTries: 3 },
      });
      await fs.create('retried', text('made it'));
      expect(str(await fs.read('retried'))).toBe('made it');
    });

    it('surface as StorageError once the retries are used up', async () => {
      failingTwice();
      const fs = createAzureFileSystem({
        connectionString: proxy.connectionString,
        container: shared,
        prefix: freshPrefix(),
        retryOptions: { ...fast, maxTries: 2 },
      });
      const err = await fs.create('gave-up', text('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).path).toBe('gave-up');
    });
  });

  it('rejects a name ending with "." (the service would drop the dot)', async () => {
    const fs = createAzureFileSystem({ serviceClient: rawService(), container: shared, prefix: freshPrefix() });
    await expect(fs.create('a/b.', text('x'))).rejects.toBeInstanceOf(InvalidPathError);
    await expect(fs.read('a/b.')).rejects.toBeInstanceOf(InvalidPathError);
  });
});
