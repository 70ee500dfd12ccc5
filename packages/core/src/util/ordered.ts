/**
 * Maps an async sequence with up to `concurrency` calls of `fn` in flight, yielding the
 * results in the order of the source. Stopping early abandons the calls in flight
 * (their failures are ignored) and closes the source.
 */
export async function* mapOrdered<T, R>(
  source: AsyncIterable<T>,
  concurrency: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const width = Math.max(1, Math.floor(concurrency));
  const iterator = source[Symbol.asyncIterator]();
  const queue: Promise<R>[] = [];
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && queue.length < width) {
        const next = await iterator.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const pending = fn(next.value);
        pending.catch(() => undefined); // handled when it reaches the head; ignored if abandoned
        queue.push(pending);
      }
      const head = queue.shift();
      if (head === undefined) return;
      yield await head;
    }
  } finally {
    if (!exhausted) await iterator.return?.();
  }
}
