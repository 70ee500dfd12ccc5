/**
 * Change notifications over Redis pub/sub, behind {@link RedisFileSystem.watch} and
 * {@link RedisFileSystem.notify}.
 *
 * ```text
 * channel  {client keyPrefix}{prefix}notify:{folder}     e.g. "evsrc:notify:.evsrc/feed/"
 * message  the folder (never read: any message means "look again")
 * ```
 *
 * `notify(folder)` is one `PUBLISH` on the folder's channel; `watch(folder)` subscribes to
 * it on one dedicated connection per file system object (`client.duplicate()`), shared by
 * all of that object's watches and closed when the last one stops. A notification wakes
 * watchers of exactly the folder named (evsrc notifies the feed's folder only). Channels
 * are not keys: they never collide with the store's keys, and ioredis does not add its
 * `keyPrefix` to them, so it is put in the channel name here to keep stores apart.
 *
 * On a Redis Cluster a plain `PUBLISH` is broadcast to every node, so the subscriber may
 * sit on any node; that costs a little bus traffic per log entry, which is fine at the
 * rate of feed entries (sharded pub/sub would route by slot, but is Redis ≥ 7 only).
 *
 * Notifications are a hint: while the subscriber is disconnected, messages are lost and
 * the feed's poller finds new entries at its next poll. Errors of the subscriber
 * connection are reported once per outage through `onWarning`, never thrown; after each
 * (re)connection every channel is subscribed again and every listener is called once, so
 * pollers look again at once.
 *
 * @module
 */
import type { Cluster, Redis } from 'ioredis';

/** How long {@link RedisNotifications.watch} waits for the `SUBSCRIBE` to be confirmed before it resolves anyway. */
export const SUBSCRIBE_WAIT_MS = 2000;

/** The pub/sub channel of a folder of one store. */
export function notificationChannel(keyPrefix: string, prefix: string, folder: string): string {
  return `${keyPrefix}${prefix}notify:${folder}`;
}

/** A listener, wrapped so that the same function can be registered twice and removed once. */
interface Registration {
  readonly listener: () => void;
}

/** The watches of one channel, and its `SUBSCRIBE` (settles once confirmed or failed). */
interface Channel {
  readonly registrations: Set<Registration>;
  readonly subscribed: Promise<unknown>;
}

/**
 * The subscriber side of one file system object: one dedicated connection, shared by all
 * its watches, opened by the first and closed when the last one stops (or on {@link close}).
 */
export class RedisNotifications {
  readonly #client: Redis | Cluster;
  readonly #warn: (message: string) => void;
  readonly #channels = new Map<string, Channel>();
  #subscriber: Redis | Cluster | undefined;
  /** Whether an error of the current outage was already reported. */
  #warned = false;
  #closed = false;

  /** @param client the file system's client, duplicated for the subscriber connection. */
  constructor(client: Redis | Cluster, onWarning: (message: string) => void) {
    this.#client = client;
    this.#warn = (message) => {
      try {
        onWarning(message);
      } catch {
        // A failing warning handler must not break notifications.
      }
    };
  }

  /**
   * Calls `listener` on every message of `channel` until the returned function is called.
   * Resolves once the subscription is confirmed, or after {@link SUBSCRIBE_WAIT_MS} when the
   * server does not answer (the subscription then takes effect when it does); never rejects
   * for a connection problem, which is reported through `onWarning`.
   */
  async watch(channel: string, listener: () => void): Promise<() => Promise<void>> {
    if (this.#closed) throw new Error('the file system is closed');
    const registration: Registration = { listener };
    const subscriber = this.#open();
    let entry = this.#channels.get(channel);
    if (!entry) {
      const subscribed = subscriber.subscribe(channel).catch((error: unknown) => this.#failed(error));
      entry = { registrations: new Set(), subscribed };
      this.#channels.set(channel, entry);
    }
    entry.registrations.add(registration);
    let timer: NodeJS.Timeout | undefined;
    const wait = new Promise((resolve) => {
      timer = setTimeout(resolve, SUBSCRIBE_WAIT_MS);
    });
    await Promise.race([entry.subscribed, wait]);
    clearTimeout(timer);
    let stopped = false;
    return async () => {
      if (stopped) return;
      stopped = true;
      await this.#remove(channel, registration);
    };
  }

  /** Closes the subscriber connection; later watches are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#channels.clear();
    await this.#disconnect();
  }

  #open(): Redis | Cluster {
    if (this.#subscriber) return this.#subscriber;
    // A standalone subscriber waits for the server however long it takes (no command
    // failing after maxRetriesPerRequest); a cluster client keeps its own retry options.
    const subscriber = this.#client.isCluster
      ? (this.#client as Cluster).duplicate()
      : (this.#client as Redis).duplicate({ maxRetriesPerRequest: null });
    subscriber.on('error', (error: unknown) => this.#failed(error));
    subscriber.on('message', (channel: string) => this.#deliver(channel));
    subscriber.on('ready', () => this.#ready(subscriber));
    this.#subscriber = subscriber;
    return subscriber;
  }

  /** After each (re)connection: subscribe everything again and wake every listener (messages may have been missed). */
  #ready(subscriber: Redis | Cluster): void {
    if (subscriber !== this.#subscriber) return;
    this.#warned = false;
    const channels = [...this.#channels.keys()];
    if (channels.length === 0) return;
    // Idempotent with ioredis's own resubscription; also covers a SUBSCRIBE that failed.
    subscriber.subscribe(...channels).then(
      () => {
        for (const channel of channels) this.#deliver(channel);
      },
      (error: unknown) => this.#failed(error),
    );
  }

  #deliver(channel: string): void {
    for (const { listener } of this.#channels.get(channel)?.registrations ?? []) {
      try {
        listener();
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  #failed(error: unknown): void {
    if (this.#warned || this.#closed) return;
    this.#warned = true;
    const reason = error instanceof Error ? error.message : String(error);
    this.#warn(
      `@evsrc/fs-redis: change notifications are unavailable (${reason}); change-feed watchers poll until the connection is back`,
    );
  }

  async #remove(channel: string, registration: Registration): Promise<void> {
    const entry = this.#channels.get(channel);
    if (!entry?.registrations.delete(registration) || entry.registrations.size > 0) return;
    this.#channels.delete(channel);
    if (this.#channels.size === 0) {
      await this.#disconnect();
    } else {
      await this.#subscriber?.unsubscribe(channel).catch(() => undefined);
    }
  }

  async #disconnect(): Promise<void> {
    const subscriber = this.#subscriber;
    if (!subscriber) return;
    this.#subscriber = undefined;
    await closeClient(subscriber);
  }
}

/**
 * Closes a client and resolves once its socket is gone: with `quit`, a `QUIT` after the
 * commands already sent or queued, unless the client is between two reconnection attempts;
 * else (or if `QUIT` fails) a plain disconnect. Waits at most a second for the end: a
 * client between two reconnection attempts has no socket and never reports its end.
 */
export async function closeClient(client: Redis | Cluster, quit = false): Promise<void> {
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<void>((resolve) => {
    client.once('end', () => resolve());
    timer = setTimeout(resolve, 1000);
  });
  if (quit && !['reconnecting', 'close', 'disconnecting'].includes(client.status)) {
    await client.quit().catch(() => client.disconnect());
  } else {
    client.disconnect();
  }
  if ((client.status as string) !== 'end') await ended;
  clearTimeout(timer);
}
