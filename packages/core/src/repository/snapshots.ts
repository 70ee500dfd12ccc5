import { ErrorCode, isEvsrcError } from '../errors.js';
import { snapshotPath } from '../format/layout.js';
import { type Aggregate, internal } from '../model/aggregate.js';
import { snapshotStateOf } from '../model/payload-check.js';
import type { RepositoryContext } from './context.js';
import type { Registered } from './registry.js';

/** Writes a snapshot of the aggregate at its stored version; a failure is reported, never thrown. */
export async function writeSnapshot(ctx: RepositoryContext, reg: Registered, aggregate: Aggregate): Promise<void> {
  const path = snapshotPath(reg.type, aggregate.id, aggregate.storedVersion);
  try {
    const schema = reg.snapshotSchema.current;
    const batch = aggregate[internal].storedBatch();
    const fields = {
      type: reg.type,
      id: aggregate.id,
      version: aggregate.storedVersion,
      timestamp: aggregate.timestamp,
      ...(schema !== 1 ? { schema } : {}),
      ...(batch?.last === aggregate.storedVersion ? { batch: batch.first } : {}),
    };
    const dataKey = await ctx.codec.writeKey(reg.type, aggregate.id);
    const bytes = ctx.codec.encodeSnapshot(fields, snapshotStateOf(reg.type, aggregate), dataKey);
    await ctx.guarded.create(path, bytes);
  } catch (error) {
    if (isEvsrcError(error, ErrorCode.FileExists)) return;
    ctx.onError(error, { operation: 'snapshot-write', aggregateType: reg.type, aggregateId: aggregate.id });
  }
}
