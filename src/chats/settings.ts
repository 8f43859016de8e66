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
  };
}
