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
   * request (REQUEST_TIMEOUT_MS, its Cassandra writes inside it), doubled for a stalled first attempt, plus
   * MAX_CLOCK_SKEW_MS between the writer's clock and ours (5 s × 2 + 2 s = 12 s by default).
   */
  lateRowWindowMs: number;
  /** Where bodies live (CHAT_BODY_STORE and its store's settings). */
  bodyStore: BodyStoreSettings;
  bodies: BodySettings;
  /**
   * How long after its number was claimed a create may still send its row (REQUEST_TIMEOUT_MS): enforced before
   * the insert, so the late-row window above really bounds when a row can land.
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
    lateRowWindowMs: 2 * config.REQUEST_TIMEOUT_MS + config.MAX_CLOCK_SKEW_MS,
    bodyStore: bodyStoreSettings(config),
    bodies: {
      inlineBytes: config.CHAT_BODY_INLINE_BYTES,
      retention: { maxVersions: config.CHAT_HISTORY_MAX_VERSIONS, maxAgeMs: config.CHAT_HISTORY_MAX_AGE_SECONDS * 1000 },
      orphanGraceMs: config.BODY_ORPHAN_GRACE_SECONDS * 1000,
    },
    rowDeadlineMs: config.REQUEST_TIMEOUT_MS,
  };
}
