/**
 * A tiny fake S3 endpoint on `node:http` for the tests that need a misbehaving service: by
 * default it accepts every PUT (ignoring `If-None-Match`, like the npm fake S3 servers do),
 * deletes nothing and finds nothing. A test can answer requests its own way.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake received. */
export interface FakeRequest {
  readonly method: string;
  /** The path, decoded: `/{bucket}/{key}`. */
  readonly path: string;
  readonly ifNoneMatch: string | undefined;
}

/** How the fake answers: an HTTP status, and an S3 error code for error statuses. */
export interface FakeAnswer {
  status: number;
  code?: string;
}

/** A running fake. */
export interface FakeS3 {
  readonly endpoint: string;
  /** Every request so far, in order. */
  readonly requests: FakeRequest[];
  close(): Promise<void>;
}

/** The answers of a service that ignores conditions: PUT 200, DELETE 204, anything else 404. */
export function ignoringConditions(request: FakeRequest): FakeAnswer {
  if (request.method === 'PUT') return { status: 200 };
  if (request.method === 'DELETE') return { status: 204 };
  return { status: 404, code: 'NoSuchKey' };
}

/** Starts the fake on a free loopback port. */
export async function startFakeS3(answer: (request: FakeRequest) => FakeAnswer = ignoringConditions): Promise<FakeS3> {
  const requests: FakeRequest[] = [];
  const server = createServer((req, res) => {
    drain(req).then(() => {
      const request: FakeRequest = {
        method: req.method ?? '',
        path: decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname),
        ifNoneMatch: req.headers['if-none-match'],
      };
      requests.push(request);
      const { status, code } = answer(request);
      if (code === undefined) {
        res.writeHead(status, { ETag: '"d41d8cd98f00b204e9800998ecf8427e"', 'Content-Length': '0' }).end();
        return;
      }
      const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>fake ${code}</Message></Error>`;
      res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // discard the body
  }
}

/** Client settings for the fake (any keys work: it checks no signature). */
export function fakeClientConfig(fake: FakeS3) {
  return {
    endpoint: fake.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
  };
}
