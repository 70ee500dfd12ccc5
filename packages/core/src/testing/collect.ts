/** Reads an async iterable to its end (`Array.fromAsync` where Node 20 lacks it). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
