import { createS3FileSystem } from '@evsrc/fs-s3';

// AWS S3: credentials from the SDK's default chain.
const aws = createS3FileSystem({ bucket: 'my-events', prefix: 'app', clientConfig: { region: 'eu-west-1' } });
// MinIO, Ceph radosgw, Cloudflare R2 …: an endpoint, usually path-style.
const minio = createS3FileSystem({
  bucket: 'events',
  clientConfig: { endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, region: 'us-east-1' },
});
// Nothing is sent until the first read or write.
console.log(aws.readConcurrency, minio.readConcurrency); // 16 16
await Promise.all([aws.close(), minio.close()]);
