/**
 * The latency proxy of `@evsrc/test-servers` (used by `pnpm bench --feed-scale` for
 * "redis+proxy"): an echo server behind it answers no sooner than twice the delay, and
 * bytes written in many chunks come back intact and in order.
 */
import { createServer, type Server, Socket } from 'node:net';
import { type LatencyProxy, startLatencyProxy } from '@evsrc/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DELAY_MS = 20;

describe('startLatencyProxy', () => {
  let echo: Server;
  let proxy: LatencyProxy;

  beforeAll(async () => {
    echo = createServer({ allowHalfOpen: true }, (socket) => {
      socket.setNoDelay(true);
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const address = echo.address();
    if (typeof address !== 'object' || address === null) throw new Error('no address');
    proxy = await startLatencyProxy({ target: { host: '127.0.0.1', port: address.port }, delayMs: DELAY_MS });
  });

  afterAll(async () => {
    await proxy?.stop();
    await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
  });

  async function connect(): Promise<Socket> {
    const socket = new Socket();
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(proxy.port, proxy.host, () => resolve());
    });
    return socket;
  }

  it('delays a round trip by at least twice the delay', async () => {
    const socket = await connect();
    try {
      for (let i = 0; i < 3; i++) {
        const start = performance.now();
        const back = new Promise<Buffer>((resolve) => socket.once('data', resolve));
        socket.write(`ping ${i}`);
        expect((await back).toString()).toBe(`ping ${i}`);
        // The proxy's own delay (one timer per direction), not a product timing: a loose bound.
        expect(performance.now() - start).toBeGreaterThanOrEqual(2 * DELAY_MS - 1);
      }
    } finally {
      socket.destroy();
    }
  });

  it('keeps bytes intact and in order over many chunks, and forwards the end', async () => {
    const socket = await connect();
    const sent = Buffer.alloc(8 * 1024);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 31 + (i >> 8)) & 0xff;
    const received: Buffer[] = [];
    const ended = new Promise<void>((resolve) => socket.on('end', resolve));
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    // 128 chunks of 64 bytes, some written at once, some a little apart.
    for (let offset = 0; offset < sent.length; offset += 64) {
      socket.write(sent.subarray(offset, offset + 64));
      if (offset % 1024 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    socket.end();
    await ended;
    expect(Buffer.concat(received).equals(sent)).toBe(true);
  });
});
