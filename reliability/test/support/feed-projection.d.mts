import type { FeedBatch, FileSystem, ProjectionOptions, Repository } from '@evsrc/core';

/** The projection's name in the store. */
export declare const PROJECTION: 'event-counts';

/** Per aggregate (`type/id`): events seen and last version; batches handled; batches that did not follow their aggregate's last one. */
export interface Counts {
  aggregates: Record<string, { events: number; last: number }>;
  batches: number;
  outOfOrder: string[];
}

export declare function initialCounts(): Counts;
export declare function countBatch(state: Counts, batch: FeedBatch): Counts;
export declare function recount(batches: readonly FeedBatch[]): Counts;
export declare function countsOptions(
  repository: Repository,
  fileSystem: FileSystem,
): Omit<ProjectionOptions<Counts>, 'partition'>;
