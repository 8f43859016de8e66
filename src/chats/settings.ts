import type { Config } from '../config.js';
import { bodyStoreSettings, type BodyStoreSettings } from '../bodies/settings.js';
import type { BodySettings } from './message-bodies.js';

/** The part of the configuration the chat-applications product uses. */
export interface ChatsSettings {
  maxNameLength: number;
  maxBodyBytes: number;
  idempotencyTtlSeconds: number;
  coalesceNumbering: boolean;
  logRetentionSeconds: number;
  /** MAX_CLOCK_SKEW_MS: the change log's lateness margin covers it. */
  maxClockSkewMs: number;
  /** PUT/PATCH/DELETE without If-Match: 428 instead of last-writer-wins (REQUIRE_IF_MATCH). */
  requireIfMatch: boolean;
  /**
   * How long after its neighbour's creation a missing number may still get its row: a create lands within its
   * request (the row deadline below: REQUEST_TIMEOUT_MS, plus the body upload with S3), doubled for a stalled
   * first attempt, plus MAX_CLOCK_SKEW_MS between the writer's clock and ours ((5 + 2) s × 2 + 2 s = 16 s by default
   * with S3, 12 s without).
   */
  lateRowWindowMs: number;
  /** Where bodies live (CHAT_BODY_STORE and its store's settings). */
  bodyStore: BodyStoreSettings;
  bodies: BodySettings;
  /**
   * How long after its number was claimed a create may still send its row (REQUEST_TIMEOUT_MS, + S3_REQUEST_TIMEOUT_MS
   * with S3): enforced right before the row is sent, so the late-row window above really bounds when a row can land.
   */
  rowDeadlineMs: number;
}

export function chatsSettings(config: Config): ChatsSettings {
  return {
    maxNameLength: config.CHAT_MAX_NAME_LENGTH,
    maxBodyBytes: config.CHAT_MAX_BODY_BYTES,
    idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    coalesceNumbering: config.CHAT_NUMBERING === 'coalesced',
    logRetentionSeconds: config.CHAT_LOG_RETENTION_SECONDS,
    maxClockSkewMs: config.MAX_CLOCK_SKEW_MS,
    requireIfMatch: config.REQUIRE_IF_MATCH,
    lateRowWindowMs: 2 * rowDeadlineMs(config) + config.MAX_CLOCK_SKEW_MS,
    bodyStore: bodyStoreSettings(config),
    bodies: {
      inlineBytes: config.CHAT_BODY_INLINE_BYTES,
      retention: { maxVersions: config.CHAT_HISTORY_MAX_VERSIONS, maxAgeMs: config.CHAT_HISTORY_MAX_AGE_SECONDS * 1000 },
      orphanGraceMs: config.BODY_ORPHAN_GRACE_SECONDS * 1000,
      // A cell stays small (≤ 1 MiB): a raw upload to the cassandra backend keeps the JSON limit.
      maxStreamedBytes: config.CHAT_BODY_STORE === 'cassandra' ? config.CHAT_MAX_BODY_BYTES : config.CHAT_MAX_STREAMED_BODY_BYTES,
    },
    rowDeadlineMs: rowDeadlineMs(config),
  };
}

/**
 * A create's row is sent within REQUEST_TIMEOUT_MS of its number claim, plus, with an S3 store, the upload of its
 * body before the row (bounded by S3_REQUEST_TIMEOUT_MS): a burst beyond the store's throughput queues there (5 s
 * + 2 s = 7 s by default, and a late-row window of 2 × 7 + 2 = 16 s).
 */
const rowDeadlineMs = (config: Config): number =>
  config.REQUEST_TIMEOUT_MS + (config.CHAT_BODY_STORE === 's3' ? config.S3_REQUEST_TIMEOUT_MS : 0);
