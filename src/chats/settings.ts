import type { Config } from '../config.js';

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
    rowDeadlineMs: config.REQUEST_TIMEOUT_MS,
  };
}
