import type { Db } from '../storage/cassandra.js';
import { BucketedLog, type BucketedLogOptions } from '../storage/bucketed-log.js';
import type { ChangeEntry } from './types.js';
import type { Clock } from '../clock.js';

/**
 * The chat change log: every create or update of a chat or message appends one entry. 10-second buckets × 8
 * shards: a consumer polling every few seconds sees an entry 5-20 s after it was written (counts aim < 1 min),
 * and an idle log costs a consumer 8 empty single-partition reads per 10 s.
 */
export const CHANGE_LOG = { name: 'chat_changes', bucketMs: 10_000, shards: 8, settleMs: 5_000 } as const;

/**
 * The appender's clock may run MAX_CLOCK_SKEW_MS behind a consumer's, so an append must be acknowledged that
 * much (plus 500 ms for the write to become visible at quorum) before the bucket's walk by the appender's clock.
 */
const VISIBLE_MS = 500;
/** Time left for the append itself after the margin: 2.5 s, the default 5 s settle minus the default 2.5 s margin. */
const APPEND_BUDGET_MS = 2_500;

export type ChangeLog = BucketedLog<ChangeEntry>;

/** The log's timing for a skew budget: margin = skew + 500 ms; settle grows past 5 s only for skews over 2 s. */
export function changeLogOptions(retentionSeconds: number, maxClockSkewMs: number): BucketedLogOptions {
  const lateMarginMs = maxClockSkewMs + VISIBLE_MS;
  return {
    ...CHANGE_LOG, ttlSeconds: retentionSeconds, lateMarginMs,
    settleMs: Math.max(CHANGE_LOG.settleMs, lateMarginMs + APPEND_BUDGET_MS),
  };
}

export function changeLog(db: Db, retentionSeconds: number, maxClockSkewMs: number, clock?: Clock): ChangeLog {
  return new BucketedLog<ChangeEntry>(db, changeLogOptions(retentionSeconds, maxClockSkewMs), clock);
}

/** Where a change happened: the application (its id and token) and the chat. */
export interface ChatRef { app: string; token: string; chat: number }

/** A chat created (version 1) or renamed (its new version); `at` is the change's Unix ms. */
export const chatUpserted = (app: string, token: string, chat: number, version: number, at: number): ChangeEntry =>
  ({ entity: 'chat', op: 'upsert', app, token, chat, message: 0, version, at });

/** A message created (version 1) or edited (its new version). */
export const messageUpserted = (where: ChatRef, message: number, version: number, at: number): ChangeEntry =>
  ({ entity: 'message', op: 'upsert', app: where.app, token: where.token, chat: where.chat, message, version, at });

/**
 * A delete's version is the deleted row's: its conditional write, like an edit's, sets the last live version + 1,
 * so in the index (external versioning) the tombstone orders after every edit. The change entry and the search
 * feed's delete event both carry it.
 */
export const deletedVersion = (liveVersion: number): number => liveVersion + 1;

/**
 * A message deleted, `liveVersion` being the version the delete was decided on. The indexer re-reads the row
 * anyway, so an entry whose delete did not apply hides nothing.
 */
export const messageDeleted = (where: ChatRef, message: number, liveVersion: number, at: number): ChangeEntry =>
  ({ entity: 'message', op: 'delete', app: where.app, token: where.token, chat: where.chat, message,
    version: deletedVersion(liveVersion), at });
