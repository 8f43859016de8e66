import { ackDeadlineMs, type Config } from './config.js';
import { DEV_ACCESS_KEY, DEV_SECRET_KEY, type BodyStoreSettings } from './bodies/settings.js';
import { credentialChain, isLocalEndpoint } from './bodies/credentials/chain.js';
import type { ChatsSettings } from './chats/settings.js';
import type { ListAuthSettings } from './http/auth.js';
import type { OpenApiSettings } from './http/openapi/document.js';
import type { InboxRoutesSettings } from './http/inbox/routes.js';
import type { InboxSettings } from './inbox/message-service.js';
import type { InboxValidationSettings } from './inbox/validation.js';
import type { SearchSettings } from './search/search.js';
import type { CassandraSettings } from './storage/cassandra.js';
import type { BannerSettings } from './banner.js';
import type { ClusterSettings } from './cluster.js';
import { processIdentity } from './process-identity.js';
import type { ArchiverRunSettings } from './workers/archiver/run.js';
import type { CountsProcessSettings } from './workers/counts/run.js';
import type { IndexerProcessSettings } from './workers/indexer/run.js';
import { indexerConsumer } from './workers/indexer/indexer-worker.js';
import type { SearchReconcileSettings } from './workers/indexer/search-reconcile.js';
import type { SweeperSettings } from './workers/sweeper.js';
import type { WorkerProcessSettings } from './workers/worker-process.js';

/**
 * Who gets what of the configuration. config.ts holds the environment (its schema, defaults and cross-field
 * checks); this file maps it, once per consumer, to the camelCase settings object that consumer declares beside
 * its code, so a module never sees a key it does not use. Only the roots take the whole Config: cli.ts, server.ts
 * and the commands cli.ts starts (counts, index, reindex, sweep-bodies), which map it here at once.
 */

/** The Cassandra driver client (storage/cassandra.ts): every Db, the server's and each command's (withDb). */
export const cassandraSettings = (config: Config): CassandraSettings => ({
  contactPoints: config.CASSANDRA_CONTACT_POINTS,
  localDc: config.CASSANDRA_LOCAL_DC,
  username: config.CASSANDRA_USERNAME,
  password: config.CASSANDRA_PASSWORD,
  hotKeyspace: config.CASSANDRA_HOT_KEYSPACE,
  coldKeyspace: config.CASSANDRA_COLD_KEYSPACE,
  replication: config.CASSANDRA_REPLICATION,
  consistency: config.CASSANDRA_CONSISTENCY,
  serialConsistency: config.CASSANDRA_SERIAL_CONSISTENCY,
  connectTimeoutMs: config.CASSANDRA_CONNECT_TIMEOUT_MS,
  requestTimeoutMs: config.CASSANDRA_REQUEST_TIMEOUT_MS,
  defunctReadTimeouts: config.CASSANDRA_DEFUNCT_READ_TIMEOUTS,
});

/** What `serve` prints first in a terminal (banner.ts). */
export const bannerSettings = (config: Config): BannerSettings => ({ host: config.HOST, metricsPort: config.METRICS_PORT });

/** `serve --workers N`'s primary (cluster.ts). */
export const clusterSettings = (config: Config): ClusterSettings => ({
  workers: config.WORKERS,
  host: config.HOST,
  metricsPort: config.METRICS_PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
});

/** A worker as its own process (workers/worker-process.ts): its Db, and its /metrics on METRICS_PORT, or PORT when that is 0. */
export const workerProcessSettings = (config: Config): WorkerProcessSettings => ({
  cassandra: cassandraSettings(config),
  metrics: { host: config.HOST, port: config.METRICS_PORT || config.PORT },
});

/** The archiver (workers/archiver/run.ts): the sweep, the lock, the skew gate and the one-shot run's push. */
export const archiverSettings = (config: Config): ArchiverRunSettings => ({
  sweep: {
    settleMs: config.DELIVERY_SETTLE_MS,
    batchConcurrency: config.ARCHIVE_BATCH_CONCURRENCY,
    sliceBytes: config.ARCHIVE_SLICE_BYTES,
  },
  lock: {
    holder: processIdentity(config.POD_NAME, 'archiver'),
    kind: config.ARCHIVER_LOCK,
    ttlSeconds: config.ARCHIVER_LOCK_TTL_SECONDS,
    kubernetes: {
      serviceHost: config.KUBERNETES_SERVICE_HOST,
      name: config.LEASE_NAME,
      namespace: config.POD_NAMESPACE,
      ttlSeconds: config.ARCHIVER_LOCK_TTL_SECONDS,
    },
  },
  maxClockSkewMs: config.MAX_CLOCK_SKEW_MS,
  pushgatewayUrl: config.PUSHGATEWAY_URL,
});

/** The chat counts worker (workers/counts/). */
export const countsProcessSettings = (config: Config): CountsProcessSettings => ({
  worker: {
    holder: processIdentity(config.POD_NAME, 'counts'),
    lockTtlSeconds: config.COUNTS_LOCK_TTL_SECONDS,
    logRetentionSeconds: config.CHAT_LOG_RETENTION_SECONDS,
    maxClockSkewMs: config.MAX_CLOCK_SKEW_MS,
  },
  reconcileSeconds: config.COUNTS_RECONCILE_SECONDS,
});

/** The search indexer's log consumer (workers/indexer/indexer-worker.ts). */
export const indexerSettings = (config: Config): IndexerProcessSettings['worker'] => ({
  holder: processIdentity(config.POD_NAME, 'indexer'),
  lockTtlSeconds: config.SEARCH_INDEXER_LOCK_TTL_SECONDS,
  logRetentionSeconds: config.CHAT_LOG_RETENTION_SECONDS,
  maxClockSkewMs: config.MAX_CLOCK_SKEW_MS,
  consumer: indexerConsumer(config.OPENSEARCH_INDEX_PREFIX),
});

/** The search reconciliation (workers/indexer/search-reconcile.ts). */
export const searchReconcileSettings = (config: Config): SearchReconcileSettings => ({
  holder: processIdentity(config.POD_NAME, 'search-reconcile'),
  lockTtlSeconds: config.SEARCH_INDEXER_LOCK_TTL_SECONDS,
  indexPrefix: config.OPENSEARCH_INDEX_PREFIX,
});

/** The search indexer of a process (workers/indexer/run.ts): the consumer, the reconciliation and its own search client. */
export const indexerProcessSettings = (config: Config): IndexerProcessSettings => ({
  worker: indexerSettings(config),
  reconcile: searchReconcileSettings(config),
  reconcileSeconds: config.SEARCH_RECONCILE_SECONDS,
  search: searchSettings(config),
});

/** The message-body sweeper (workers/sweeper.ts): the chats' body store, orphan grace and history retention. */
export function sweeperSettings(config: Config): SweeperSettings {
  const chats = chatsSettings(config);
  return {
    bodyStore: chats.bodyStore,
    sweep: { orphanGraceMs: chats.bodies.orphanGraceMs, retention: chats.bodies.retention },
  };
}

/** The inbox's rules (inbox/message-service.ts): settle window, acknowledgement deadline, row lifetimes, list pages. */
export const inboxSettings = (config: Config): InboxSettings => ({
  settleMs: config.DELIVERY_SETTLE_MS,
  ackDeadlineMs: ackDeadlineMs(config),
  hotGraceSeconds: config.HOT_GRACE_SECONDS,
  userRowGraceSeconds: config.USER_ROW_GRACE_SECONDS,
  idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
  pageRows: config.LIST_PAGE_SIZE,
  pageBytes: config.LIST_PAGE_BYTES,
});

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

/** The OpenAPI document (http/openapi/document.ts): the limits it states. */
export const openApiSettings = (config: Config): OpenApiSettings => ({
  inbox: {
    maxUsernameLength: config.MAX_USERNAME_LENGTH,
    maxTextBytes: config.MAX_TEXT_BYTES,
    maxTimeoutSeconds: config.MAX_TIMEOUT_SECONDS,
    maxBodyBytes: config.MAX_BODY_BYTES,
  },
  pathUsernames: config.CHAT_PATH_USERNAMES,
  chats: { maxNameLength: config.CHAT_MAX_NAME_LENGTH, maxBodyBytes: config.CHAT_MAX_BODY_BYTES },
  bodies: { maxStreamedBytes: maxStreamedBytes(config) },
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
            maxStreamedBytes: maxStreamedBytes(config),
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

/**
 * How long a request's statements may take from its first (storage/request-deadline.ts): REQUEST_TIMEOUT_MS, body
 * store calls not counted (they have S3_REQUEST_TIMEOUT_MS), so a create still sends its row within the row
 * deadline above.
 */
export const requestStorageDeadlineMs = (config: Config): number => config.REQUEST_TIMEOUT_MS;

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

/** A raw upload's limit: a cell stays small (≤ 1 MiB), so the cassandra backend keeps the JSON limit. */
const maxStreamedBytes = (config: Config): number =>
  config.CHAT_BODY_STORE === 'cassandra' ? config.CHAT_MAX_BODY_BYTES : config.CHAT_MAX_STREAMED_BODY_BYTES;

/** The message-body store (bodies/create.ts); with s3, its credentials from the standard chain. */
export function bodyStoreSettings(config: Config): BodyStoreSettings {
  switch (config.CHAT_BODY_STORE) {
    case 'cassandra': return { kind: 'cassandra' };
    case 'fs': return { kind: 'fs', dir: config.BODY_STORE_DIR, prefix: config.BODY_STORE_PREFIX };
    case 's3': {
      const c = config;
      const credentials = credentialChain({
        own: c.S3_ACCESS_KEY_ID !== undefined
          ? { accessKeyId: c.S3_ACCESS_KEY_ID, secretAccessKey: c.S3_SECRET_ACCESS_KEY! } : undefined,
        env: c.AWS_ACCESS_KEY_ID !== undefined && c.AWS_SECRET_ACCESS_KEY !== undefined
          ? { accessKeyId: c.AWS_ACCESS_KEY_ID, secretAccessKey: c.AWS_SECRET_ACCESS_KEY, sessionToken: c.AWS_SESSION_TOKEN }
          : undefined,
        profile: { profile: c.AWS_PROFILE, credentialsFile: c.AWS_SHARED_CREDENTIALS_FILE, configFile: c.AWS_CONFIG_FILE },
        webIdentity: { tokenFile: c.AWS_WEB_IDENTITY_TOKEN_FILE, roleArn: c.AWS_ROLE_ARN,
          sessionName: c.AWS_ROLE_SESSION_NAME, endpoint: c.AWS_ENDPOINT_URL_STS },
        container: { fullUri: c.AWS_CONTAINER_CREDENTIALS_FULL_URI, relativeUri: c.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
          token: c.AWS_CONTAINER_AUTHORIZATION_TOKEN, tokenFile: c.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE },
        imds: { endpoint: c.AWS_EC2_METADATA_SERVICE_ENDPOINT, disabled: c.AWS_EC2_METADATA_DISABLED },
        region: c.S3_REGION, localEndpoint: isLocalEndpoint(c.S3_ENDPOINT),
        devKeys: { accessKeyId: DEV_ACCESS_KEY, secretAccessKey: DEV_SECRET_KEY },
      });
      return {
        kind: 's3',
        s3: {
          endpoint: c.S3_ENDPOINT, region: c.S3_REGION, bucket: c.S3_BUCKET, pathStyle: c.S3_PATH_STYLE, credentials,
          timeoutMs: c.S3_REQUEST_TIMEOUT_MS, maxInFlight: c.S3_MAX_IN_FLIGHT, prefix: c.BODY_STORE_PREFIX,
        },
      };
    }
  }
}
