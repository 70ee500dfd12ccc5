import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createS3FileSystem } from '@evsrc/fs-s3';
import { s3ClientConfig as clientConfig, startS3 } from '@evsrc/test-servers';
import type { RawStore, Started, Target } from './types.js';

/**
 * The raw baseline on S3, with the AWS SDK only: create = `PutObject` with
 * `If-None-Match: *`; list = `ListObjectsV2` pages; read = `GetObject`.
 */
class SdkStore implements RawStore {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    readonly prefix: string,
  ) {}

  async create(path: string, bytes: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + path,
        Body: bytes,
        ContentLength: bytes.byteLength,
        IfNoneMatch: '*',
      }),
    );
  }

  async list(folder: string, startAfter?: string): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + folder,
          ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: this.prefix + startAfter } : {}),
        }),
      );
      for (const item of page.Contents ?? []) names.push((item.Key as string).slice(this.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return names;
  }

  async read(path: string): Promise<Uint8Array> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + path }));
    if (!out.Body) throw new Error(`no body: ${path}`);
    return out.Body.transformToByteArray();
  }
}

export async function startS3Backend(): Promise<Started> {
  const server = await startS3('evsrc-bench');
  if ('skip' in server) return server;
  const raw = new S3Client(clientConfig(server));
  const closing: (() => Promise<void>)[] = [];
  return {
    name: 's3',
    network: true,
    description:
      'Ceph radosgw (one memstore OSD) on loopback, fresh key prefix per run. evsrc: @evsrc/fs-s3 (its own S3Client; the one-time conditional-write probe runs in the warm-up). raw: one S3Client — PutObject with If-None-Match: *; ListObjectsV2; GetObject.',
    async target(label: string): Promise<Target> {
      const fileSystem = createS3FileSystem({
        bucket: server.bucket,
        prefix: `${label}/evsrc`,
        clientConfig: clientConfig(server),
      });
      closing.push(() => fileSystem.close());
      const store = new SdkStore(raw, server.bucket, `${label}/raw/`);
      return { fileSystem, raw: store, setup: { fileSystem, raw: store }, close: () => fileSystem.close() };
    },
    async stop() {
      await Promise.allSettled(closing.map((close) => close()));
      raw.destroy();
      await server.stop();
    },
  };
}
