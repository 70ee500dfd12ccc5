/**
 * A small HTTP proxy in front of Azurite: it records every request, and can answer some
 * itself (to play a 412 or a transient 503 the emulator never sends). Shared Key signatures
 * do not cover the host, so requests signed for the proxy are valid at Azurite.
 */
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request seen by the proxy. */
export interface SeenRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
}

/** An error answer the proxy sends instead of forwarding. */
export interface FakeError {
  readonly status: number;
  readonly code: string;
}

/** A running proxy. */
export interface TestProxy {
  /** The connection string to use: the original one, pointed at the proxy. */
  readonly connectionString: string;
  /** Every request so far. */
  readonly requests: SeenRequest[];
  /** Decides, per request, whether to answer it with an error instead of forwarding it. */
  intercept: (request: SeenRequest) => FakeError | undefined;
  close(): Promise<void>;
}

/** Starts a proxy to the blob endpoint of `connectionString`. */
export async function startProxy(connectionString: string): Promise<TestProxy> {
  const endpoint = connectionString.match(/BlobEndpoint=(http:\/\/[^/;]+)(\/[^;]*)?/);
  if (!endpoint?.[1]) throw new Error('no http BlobEndpoint in the connection string');
  const target = new URL(endpoint[1]);
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      url: new URL(req.url ?? '/', target),
      headers: req.headers,
    };
    requests.push(seen);
    const fake = proxy.intercept(seen);
    if (fake) {
      req.resume();
      req.on('end', () => {
        const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${fake.code}</Code><Message>played by the test proxy</Message></Error>`;
        res.writeHead(fake.status, { 'content-type': 'application/xml', 'x-ms-error-code': fake.code });
        res.end(body);
      });
      return;
    }
    const forward = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', (error) => res.destroy(error));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const proxy: TestProxy = {
    connectionString: connectionString.replace(endpoint[1], `http://127.0.0.1:${port}`),
    requests,
    intercept: () => undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
