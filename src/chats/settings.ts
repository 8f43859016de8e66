import type { BodyStoreSettings } from '../bodies/settings.js';
import type { BodySettings } from './message-bodies.js';

/** The part of the configuration the chat-applications product uses (built by chatsSettings in src/settings.ts). */
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
