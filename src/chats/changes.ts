import type { Db } from '../storage/cassandra.js';
import { BucketedLog } from '../storage/bucketed-log.js';
import type { ChangeEntry } from './types.js';

/**
 * The chat change log: every create or update of a chat or message appends one entry. 10-second buckets × 8
 * shards: a consumer polling every few seconds sees an entry 5-20 s after it was written (counts aim < 1 min),
 * and an idle log costs a consumer 8 empty single-partition reads per 10 s.
 */
export const CHANGE_LOG = { name: 'chat_changes', bucketMs: 10_000, shards: 8, settleMs: 5_000 } as const;

export type ChangeLog = BucketedLog<ChangeEntry>;

export function changeLog(db: Db, retentionSeconds: number): ChangeLog {
  return new BucketedLog<ChangeEntry>(db, { ...CHANGE_LOG, ttlSeconds: retentionSeconds });
}
