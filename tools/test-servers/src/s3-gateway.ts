import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { missing, type ServerControl } from './process.js';
import { missingRadosgwCommands, startRadosgw } from './radosgw.js';

/** How tests reach the S3 gateway. */
export interface S3Connection {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** A bucket created for the tests. */
  readonly bucket: string;
}

/** A running S3 gateway with a bucket, or why there is none. */
export type S3Server =
  | (S3Connection & {
      stop(): Promise<void>;
      /**
       * Stop, restart or freeze the radosgw daemon alone (the cluster keeps the data), for
       * fault tests. Not enumerable, so spreading the server copies only the connection.
       */
      readonly control: ServerControl;
    })
  | { readonly skip: string };

/**
 * Starts Ceph radosgw (a real S3 implementation that enforces conditional writes) on free
 * loopback ports and creates `bucket`. Without the Debian packages: skips with an install
 * hint, or throws under CI.
 */
export async function startS3(bucket = 'evsrc-test'): Promise<S3Server> {
  const absent = missingRadosgwCommands();
  if (absent.length > 0) {
    return { skip: missing(`Ceph radosgw (${absent.join(', ')})`, 'sudo bash scripts/install-test-servers.sh') };
  }
  const gateway = await startRadosgw();
  const connection: S3Connection = {
    endpoint: gateway.endpoint,
    region: 'us-east-1',
    accessKeyId: gateway.accessKeyId,
    secretAccessKey: gateway.secretAccessKey,
    bucket,
  };
  const client = new S3Client(s3ClientConfig(connection));
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    await gateway.stop();
    throw error;
  } finally {
    client.destroy();
  }
  const server = { ...connection, stop: () => gateway.stop() };
  // Not enumerable: `const { stop, ...connection } = server` stays a plain, serialisable connection.
  Object.defineProperty(server, 'control', { value: gateway.control, enumerable: false });
  return server as S3Server;
}

/** The S3 client settings of a test gateway: its endpoint, path-style addressing, its user's keys. */
export function s3ClientConfig(c: Omit<S3Connection, 'bucket'>) {
  return {
    endpoint: c.endpoint,
    region: c.region,
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
  };
}
