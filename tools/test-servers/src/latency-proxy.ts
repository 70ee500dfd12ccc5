/**
 * A TCP proxy on loopback that adds a fixed delay to every chunk in each direction: a
 * server on the same machine made to look like one across a network (a round trip costs
 * at least twice the delay). Bytes keep their order: each direction of each connection is
 * a queue, and a chunk is written `delayMs` after it arrived, never before the chunks that
 * came before it.
 *
 * @packageDocumentation
 */
import { createServer, Socket } from 'node:net';

/** Options of {@link startLatencyProxy}. */
export interface LatencyProxyOptions {
  /** Where connections go. */
  readonly target: { readonly host: string; readonly port: number };
  /** The delay of every chunk, in each direction, in milliseconds. */
  readonly delayMs: number;
  /** A URL scheme (e.g. `redis`): the proxy's `url` is then `scheme://host:port`. */
  readonly scheme?: string;
}

/** A running latency proxy. */
export interface LatencyProxy {
  readonly host: string;
  readonly port: number;
  /** `scheme://host:port`, when a scheme was given. */
  readonly url?: string;
  /** Closes the listener and every connection through it. */
  stop(): Promise<void>;
}

/**
 * Forwards what `from` receives to `to`, each chunk `delayMs` after it arrived, in order.
 * Back-pressure: `from` pauses while `to`'s buffer is full. `from`'s end reaches `to` after
 * its last chunk.
 */
function pipeDelayed(from: Socket, to: Socket, delayMs: number, timers: Set<NodeJS.Timeout>): void {
  const queue: { at: number; chunk: Buffer | null }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let waiting = false;
  const flush = () => {
    if (timer) timers.delete(timer);
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && (queue[0] as { at: number }).at <= now) {
      const { chunk } = queue.shift() as { chunk: Buffer | null };
      if (to.destroyed) return;
      if (chunk === null) {
        to.end();
        return;
      }
      if (!to.write(chunk) && !waiting) {
        waiting = true;
        from.pause();
        to.once('drain', () => {
          waiting = false;
          from.resume();
        });
      }
    }
    schedule();
  };
  const schedule = () => {
    if (timer || queue.length === 0) return;
    const wait = Math.max(0, (queue[0] as { at: number }).at - performance.now());
    timer = setTimeout(flush, wait);
    timers.add(timer);
  };
  from.on('data', (chunk: Buffer) => {
    queue.push({ at: performance.now() + delayMs, chunk });
    schedule();
  });
  from.on('end', () => {
    queue.push({ at: performance.now() + delayMs, chunk: null });
    schedule();
  });
}

/**
 * Starts a proxy on a free loopback port that forwards each connection to `target`,
 * delaying every chunk by `delayMs` in each direction (Nagle off on both sides, so the
 * delay is the only one added). A connection that fails on one side is closed on both.
 * Timers are per chunk, so a delay below the timer resolution (~1 ms) is rounded up.
 */
export async function startLatencyProxy(options: LatencyProxyOptions): Promise<LatencyProxy> {
  const { target, delayMs } = options;
  if (!(delayMs >= 0)) throw new RangeError(`delayMs must be 0 or more, got ${delayMs}`);
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  // Half-open on both sides: an end is forwarded (delayed) like the data before it.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = new Socket({ allowHalfOpen: true });
    const pairs: [Socket, Socket][] = [
      [client, upstream],
      [upstream, client],
    ];
    for (const [socket, other] of pairs) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => other.destroy());
      socket.on('close', (hadError) => {
        sockets.delete(socket);
        if (hadError) other.destroy();
      });
      pipeDelayed(socket, other, delayMs, timers);
    }
    upstream.connect(target.port, target.host);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('latency proxy: no address');
  const host = '127.0.0.1';
  return {
    host,
    port: address.port,
    ...(options.scheme ? { url: `${options.scheme}://${host}:${address.port}` } : {}),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
