import type { Config } from './config.js';
import { bodyStoreSettings } from './bodies/settings.js';
import type { ChatsSettings } from './chats/settings.js';
import type { ListAuthSettings } from './http/auth.js';
import type { InboxRoutesSettings } from './http/inbox/routes.js';
import type { InboxValidationSettings } from './inbox/validation.js';
import type { SearchSettings } from './search/search.js';

/**
 * Who gets what of the configuration. config.ts holds the environment (its schema, defaults and cross-field
 * checks); this file maps it, once per consumer, to the camelCase settings object that consumer declares beside
 * its code, so a module never sees a key it does not use. The workers' mappers (counts, indexer, archiver) still
 * live beside their commands.
 */

/** The inbox's request rules (inbox/validation.ts). */
export const inboxValidationSettings = (config: Config): InboxValidationSettings => ({
  maxUsernameLength: config.MAX_USERNAME_LENGTH,
  maxTextBytes: config.MAX_TEXT_BYTES,
  maxTimeoutSeconds: config.MAX_TIMEOUT_SECONDS,
});

/** The inbox's routes (http/inbox/routes.ts). */
export const inboxRoutesSettings = (config: Config): InboxRoutesSettings => ({
  maxBodyBytes: config.MAX_BODY_BYTES,
  pathUsernames: config.CHAT_PATH_USERNAMES,
  usernameRps: config.RATE_LIMIT_USERNAME_RPS,
  burstSeconds: config.RATE_LIMIT_BURST_SECONDS,
});

/** Reading a user's list (http/auth.ts): the bearer-token mode (AUTH_MODE) and its HS256 check. */
export const listAuthSettings = (config: Config): ListAuthSettings => ({
  mode: config.AUTH_MODE,
  secret: config.AUTH_JWT_SECRET,
  issuer: config.AUTH_JWT_ISSUER,
  audience: config.AUTH_JWT_AUDIENCE,
});

/** The chat-applications product (chats/module.ts). */
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

/** Search (search/search.ts): the OpenSearch client, the index, the searcher and the API's fast path. */
export function searchSettings(config: Config): SearchSettings {
  return {
    openSearch: {
      url: config.OPENSEARCH_URL,
      username: config.OPENSEARCH_USERNAME,
      password: config.OPENSEARCH_PASSWORD,
      timeoutMs: config.OPENSEARCH_REQUEST_TIMEOUT_MS,
      bulkTimeoutMs: config.OPENSEARCH_BULK_TIMEOUT_MS,
    },
    index: {
      prefix: config.OPENSEARCH_INDEX_PREFIX, shards: config.OPENSEARCH_SHARDS, replicas: config.OPENSEARCH_REPLICAS,
      refreshIntervalMs: config.OPENSEARCH_REFRESH_INTERVAL_MS,
    },
    queryMaxChars: config.SEARCH_QUERY_MAX_CHARS,
    maxBodyBytes: config.CHAT_MAX_BODY_BYTES,
    fastIndex: config.SEARCH_FAST_INDEX
      ? { maxQueue: config.SEARCH_FAST_INDEX_QUEUE, lingerMs: config.SEARCH_FAST_INDEX_LINGER_MS }
      : null,
  };
}
