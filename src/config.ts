import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { availableCpus } from './cpus.js';

const CONSISTENCIES = [
  'ANY', 'ONE', 'TWO', 'THREE', 'QUORUM', 'ALL', 'LOCAL_QUORUM', 'EACH_QUORUM', 'LOCAL_ONE',
] as const;
const SERIAL_CONSISTENCIES = ['SERIAL', 'LOCAL_SERIAL'] as const;
export type Consistency = typeof CONSISTENCIES[number];
export type SerialConsistency = typeof SERIAL_CONSISTENCIES[number];

/**
 * Slack kept between the acknowledgement deadline and the settle window besides the clock-skew budget: the time
 * between a create's last check of its clock and its answer, and between a reader's clock read and its slice.
 */
export const SETTLE_MARGIN_MS = 500;

/**
 * How long after its id was issued a create may still be acknowledged. A reader treats ids older than the settle
 * window (by its own clock) as final, so (reader clock − writer clock) + acknowledged latency must stay under the
 * window: with clocks within MAX_CLOCK_SKEW_MS of each other, the deadline is window − skew − margin. It lives
 * here, not in inbox/, because the schema's cross-field check needs it and the ground floor imports no product.
 */
export function ackDeadlineMs(c: { DELIVERY_SETTLE_MS: number; MAX_CLOCK_SKEW_MS: number }): number {
  return c.DELIVERY_SETTLE_MS - c.MAX_CLOCK_SKEW_MS - SETTLE_MARGIN_MS;
}

/** Cassandra's largest TTL (20 years, in seconds). */
const MAX_CQL_TTL_SECONDS = 630_720_000;
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const workerCount = z.union([z.literal('auto').transform(() => availableCpus()), int(1, 256)]);
/** `--workers` / WORKERS: a count or `auto` (one per CPU); null when invalid. */
export const parseWorkers = (value: string): number | null => {
  const r = workerCount.safeParse(value);
  return r.success ? r.data : null;
};
const keyspaceName = z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'must be a lower-case CQL identifier');

/** `SimpleStrategy:1` or `dc1:3,dc2:3` (NetworkTopologyStrategy). */
const replication = z.string().transform((value, ctx) => {
  const simple = /^SimpleStrategy:(\d+)$/.exec(value);
  if (simple) return { class: 'SimpleStrategy', replication_factor: Number(simple[1]) } as Record<string, string | number>;
  const dcs = value.split(',').map((part) => /^([A-Za-z0-9_.-]+):(\d+)$/.exec(part.trim()));
  if (dcs.length === 0 || dcs.some((m) => m === null)) {
    ctx.addIssue({ code: 'custom', message: 'expected "SimpleStrategy:<rf>" or "<dc>:<rf>[,<dc>:<rf>...]"' });
    return z.NEVER;
  }
  const out: Record<string, string | number> = { class: 'NetworkTopologyStrategy' };
  for (const m of dcs) out[m![1]!] = Number(m![2]);
  return out;
});

/** The environment contract; docs/configuration.md is generated from it (`make config-doc`). */
export const configSchema = z.object({
  PORT: int(0, 65535).default(8080)
    .describe('HTTP port of the API (and of /metrics when METRICS_PORT is 0)'),
  HOST: z.string().default('0.0.0.0')
    .describe('address the API listens on'),
  METRICS_PORT: int(0, 65535).default(0)
    .describe('0: /metrics on PORT; otherwise its own port (required with WORKERS > 1: the primary serves all workers\' metrics summed there)'),
  WORKERS: workerCount.default(1)
    .describe('processes sharing PORT (or `serve --workers`); `auto`: one per CPU'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
    .describe('JSON lines (pino) with request id, route, status, latency, trace id; never message text (human-readable lines on a terminal)'),
  // 0: one synchronous write per log line. > 0: buffered asynchronous writes (src/logger.ts says what it saves).
  LOG_BUFFER_BYTES: int(0, 1024 * 1024).default(4096)
    .describe('`serve`: log lines are written asynchronously once this many bytes wait or every 250 ms (0: one synchronous write per line); a SIGKILLed process loses its last <= 250 ms of lines'),
  SHUTDOWN_TIMEOUT_MS: int(0).default(10_000)
    .describe('on SIGTERM, how long in-flight requests may finish'),
  REQUEST_TIMEOUT_MS: int(100).default(5_000)
    .describe('the HTTP server\'s header timeout (its request timeout is twice this); a request\'s storage deadline: its Cassandra statements end within this of its first (503 past it; body-store time not counted, raw-body uploads and a list\'s later pages exempt); a chat or message create sends its row at most this long (+ S3_REQUEST_TIMEOUT_MS with CHAT_BODY_STORE=s3: the row deadline) after its number was claimed (503 otherwise); chat pages\' young-hole window is 2 x the row deadline + MAX_CLOCK_SKEW_MS (2 x (5 + 2) + 2 = 16 s by default, 12 s without s3)'),
  MAX_BODY_BYTES: int(1024, 10 * 1024 * 1024).default(256 * 1024)
    .describe('largest request body (after decoding); 413 beyond'),
  MAX_USERNAME_LENGTH: int(1, 1024).default(128)
    .describe('inbox usernames: characters'),
  MAX_TEXT_BYTES: int(1, 1024 * 1024).default(64 * 1024)
    .describe('inbox message text: bytes of UTF-8'),
  MAX_TIMEOUT_SECONDS: int(1, MAX_CQL_TTL_SECONDS).default(604_800)
    .describe('largest inbox `timeout`'),
  MAX_CLOCK_SKEW_MS: int(0, 60_000).default(2_000)
    .describe('clock-skew budget between processes; the create deadline is DELIVERY_SETTLE_MS - skew - 500 ms; /readyz fails past half of it'),
  CASSANDRA_CONTACT_POINTS: z.string().min(1).prefault('127.0.0.1:9042')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
    .describe('comma-separated host:port list'),
  CASSANDRA_LOCAL_DC: z.string().min(1).default('datacenter1')
    .describe('the one datacenter the driver uses'),
  CASSANDRA_USERNAME: z.string().optional()
    .describe('PlainText authentication (with CASSANDRA_PASSWORD; the chart takes both from a Secret)'),
  CASSANDRA_PASSWORD: z.string().optional()
    .describe('PlainText authentication (with CASSANDRA_USERNAME)'),
  CASSANDRA_HOT_KEYSPACE: keyspaceName.default('ephemera_hot')
    .describe('keyspace of the hot (TTL) tables and the chat applications'),
  CASSANDRA_COLD_KEYSPACE: keyspaceName.default('ephemera_cold')
    .describe('keyspace of archived messages'),
  CASSANDRA_REPLICATION: replication.prefault('SimpleStrategy:1')
    .describe('`SimpleStrategy:<rf>` or `<dc>:<rf>` (NetworkTopologyStrategy); one datacenter only (refused otherwise)'),
  CASSANDRA_CONSISTENCY: z.enum(CONSISTENCIES).default('LOCAL_ONE')
    .describe('LOCAL_QUORUM for clusters; ANY/ONE/LOCAL_ONE are refused when the replication factor is above 1'),
  CASSANDRA_SERIAL_CONSISTENCY: z.enum(SERIAL_CONSISTENCIES).default('LOCAL_SERIAL')
    .describe('consistency of lightweight transactions'),
  CASSANDRA_REQUEST_TIMEOUT_MS: int(100).default(2_000)
    .describe('driver timeout of one statement'),
  CASSANDRA_CONNECT_TIMEOUT_MS: int(100).default(5_000)
    .describe('driver connection timeout'),
  CASSANDRA_DEFUNCT_READ_TIMEOUTS: int(1, 1024).default(64)
    .describe('timeouts on one connection before the driver drops it; 3 on clusters (the chart\'s value, measured in the partition test)'),
  HOT_GRACE_SECONDS: int(60, 31_536_000).default(259_200)
    .describe('hot TTL = timeout + this (3 days: the archiver may be away for a weekend)'),
  // How long a per-user (listable) row outlives its timeout: only lists read it, and they skip expired rows. At least
  // 1: `timeout: 0` plus 0 would be `USING TTL 0`, which in CQL means a row that never expires.
  USER_ROW_GRACE_SECONDS: int(1, 86_400).default(60)
    .describe('per-user (listable) row TTL = timeout + this'),
  DELIVERY_SETTLE_MS: int(1_000).default(10_000)
    .describe('settle window of the list read (docs/design.md); minus skew and 500 ms it must be at least 2 x CASSANDRA_REQUEST_TIMEOUT_MS'),
  LIST_PAGE_SIZE: int(10, 10_000).default(500)
    .describe('rows a list read takes per page'),
  LIST_PAGE_BYTES: int(64 * 1024, 256 * 1024 * 1024).default(4 * 1024 * 1024)
    .describe('text bytes a list page aims at: its rows are sized from the previous page\'s average row, so large texts after small ones overshoot (at most LIST_PAGE_SIZE x MAX_TEXT_BYTES, docs/design.md)'),
  WRITER_LEASE_TTL_MS: int(5_000).default(30_000)
    .describe('lease of this process\'s id-writer slot'),
  ARCHIVER_LOCK: z.enum(['auto', 'kubernetes', 'cassandra']).default('auto')
    .describe('`auto`: a Kubernetes Lease when in a cluster, else a Cassandra LWT lock'),
  ARCHIVER_LOCK_TTL_SECONDS: int(5).default(30)
    .describe('the archiver\'s lock TTL'),
  ARCHIVE_BATCH_CONCURRENCY: int(1, 512).default(8)
    .describe('cold writes in flight per shard (16 shards: 128 in all with 8)'),
  ARCHIVE_SLICE_BYTES: int(64 * 1024, 64 * 1024 * 1024).default(1024 * 1024)
    .describe('text one shard aims to hold at a time (16 shards): a slice is sized from the previous one\'s average row and at most 2 x its rows, so large texts after small ones overshoot (docs/design.md)'),
  LEASE_NAME: z.string().default('ephemera-archiver')
    .describe('name of the archiver\'s Kubernetes Lease (coordination.k8s.io/v1)'),
  POD_NAMESPACE: z.string().default('default')
    .describe('namespace of the archiver\'s Kubernetes Lease (the chart sets it from the downward API)'),
  POD_NAME: z.string().default(os.hostname()).meta({ description: 'this process\'s name in every lease, lock and slot it holds (the chart sets it from the downward API)', documentedDefault: 'the host name' }),
  PUSHGATEWAY_URL: z.string().url().optional()
    .describe('where a one-shot archiver run pushes its metrics (unset: not pushed)'),
  KUBERNETES_SERVICE_HOST: z.string().optional()
    .describe('set by Kubernetes in a pod; tells ARCHIVER_LOCK=auto it runs in a cluster'),
  MAX_CONNECTIONS: int(1).default(10_000)
    .describe('open HTTP connections the server accepts'),
  IDEMPOTENCY_TTL_SECONDS: int(60, 30 * 86_400).default(86_400)
    .describe('how long an Idempotency-Key is remembered'),
  RATE_LIMIT_CLIENT_RPS: z.coerce.number().min(0).default(0)
    .describe('requests per second per client address and process (0: off); 429 with Retry-After'),
  RATE_LIMIT_USERNAME_RPS: z.coerce.number().min(0).default(0)
    .describe('inbox requests per second per username and process (0: off)'),
  RATE_LIMIT_BURST_SECONDS: z.coerce.number().min(1).default(2)
    .describe('the token buckets hold this many seconds of their rate'),
  // POST /applications per client (on by default: each create is a new tenant with rows in Cassandra). 10/min with a
  // burst of 30: a person or a deploy script never waits; a loop from one address gets at most 14,400 a day per pod.
  RATE_LIMIT_APPLICATION_CREATES_PER_MINUTE: z.coerce.number().min(0).default(10)
    .describe('`POST /applications` per client address and process (0: off); 429 with Retry-After beyond'),
  RATE_LIMIT_APPLICATION_CREATES_BURST: int(1, 100_000).default(30)
    .describe('`POST /applications` a client may make at once before the per-minute rate applies'),
  // Bearer token of GET /applications (the list of every token). Unset: that list answers 401 to everyone.
  // RFC 6750 token68 characters, 32 or more (about 190 bits as base64url): it guards every application.
  ADMIN_TOKEN: z.string().regex(/^[A-Za-z0-9._~+/-]{32,512}=*$/,
    'must be 32-512 characters of A-Z a-z 0-9 . _ ~ + / - (a bearer token), e.g. openssl rand -base64 32').optional()
    .describe('bearer token of `GET /applications` (every application and its token); unset: that listing is 401 to everyone; the chart takes it from a Secret'),
  // GET /chat/:username as other deployments have it (off by default: the public contract has /chats/:username).
  CHAT_PATH_USERNAMES: z.enum(['true', 'false']).default('false').transform((v) => v === 'true')
    .describe('`true`: `GET /chat/:username` lists and consumes (docs/api.md)'),
  OPENSEARCH_URL: z.string().url().default('http://127.0.0.1:9200')
    .describe('message search'),
  OPENSEARCH_USERNAME: z.string().optional()
    .describe('basic authentication (a password needs a username; the chart takes both from a Secret)'),
  OPENSEARCH_PASSWORD: z.string().optional()
    .describe('basic authentication (needs OPENSEARCH_USERNAME)'),
  OPENSEARCH_INDEX_PREFIX: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a lower-case index name prefix')
    .default('ephemera')
    .describe('indices `<prefix>-messages-v<N>` behind the alias `<prefix>-messages`'),
  OPENSEARCH_REQUEST_TIMEOUT_MS: int(50, 60_000).default(2_000)
    .describe('past it (or refused, 429, 5xx): 503 `search_unavailable`'),
  OPENSEARCH_BULK_TIMEOUT_MS: int(100, 600_000).default(30_000)
    .describe('timeout of one bulk request of the indexer'),
  OPENSEARCH_SHARDS: int(1, 1024).default(1)
    .describe('shards of the index the search migration creates'),
  OPENSEARCH_REPLICAS: int(0, 16).default(0)
    .describe('replicas of the index the search migration creates'),
  // 500 ms instead of OpenSearch's 1 s: with the fast path the refresh is most of a change's way to search (docs/api.md, "Message search").
  OPENSEARCH_REFRESH_INTERVAL_MS: int(100, 60_000).default(500)
    .describe('the index\'s `refresh_interval`, set by every search migration (also on an existing index)'),
  // 256 at most: OpenSearch 2.19 refuses to build the automaton of longer repetitive patterns (`*a…a*` of 384).
  SEARCH_QUERY_MAX_CHARS: int(1, 256).default(256)
    .describe('longer `q` (in characters, also after folding: ß counts 2): 400 `invalid_query`'),
  // The fast path (docs/api.md, "Message search"): the API process indexes a change right after its row write.
  SEARCH_FAST_INDEX: z.enum(['on', 'off']).default('on').transform((v) => v === 'on')
    .describe('the search fast path (docs/api.md, "Message search"); off: the change log alone'),
  // 20,000 changes (~7 MB plus bodies; 32 MB at most): a 60 s OpenSearch outage at 200 writes/s waits whole in the
  // fast path (10,000 shed 2,600 of it to the change log; docs/search.md).
  SEARCH_FAST_INDEX_QUEUE: int(1, 1_000_000).default(20_000)
    .describe('fast-path changes waiting at most, fresh and backlog (beyond, the oldest are shed to the change log; docs/search.md)'),
  SEARCH_FAST_INDEX_LINGER_MS: int(0, 1_000).default(5)
    .describe('how long a fast-path bulk\'s first change waits for company'),
  AUTH_MODE: z.enum(['none', 'jwt']).default('none')
    .describe('`jwt`: `GET /chats/:username` needs an HS256 bearer token whose `sub` is that username (401/403)'),
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional()
    .describe('HS256 secret (required with AUTH_MODE=jwt)'),
  AUTH_JWT_ISSUER: z.string().optional()
    .describe('expected `iss` (unset: not checked)'),
  AUTH_JWT_AUDIENCE: z.string().optional()
    .describe('expected `aud` (unset: not checked)'),
  // Chat applications (docs/api.md, "Chat applications").
  CHAT_MAX_NAME_LENGTH: int(1, 1024).default(255)
    .describe('chat applications: name characters'),
  // Up to 1 MiB in a Cassandra cell; up to 64 MiB with an object store.
  CHAT_MAX_BODY_BYTES: int(1, 64 * 1024 * 1024).default(64 * 1024)
    .describe('chat applications: message body bytes (at most 1 MiB with CHAT_BODY_STORE=cassandra; MAX_BODY_BYTES must be larger)'),
  // 8 MiB by default (the issue's example); the stream holds ~64 KiB at a time whatever this is. At most 64 MiB:
  // the JSON views (GET .../messages/:n, list pages) still hand a body out whole, as one string, and JSON escaping
  // can make one up to 6 times longer; V8 refuses strings over 2^29 characters (512 Mi).
  CHAT_MAX_STREAMED_BODY_BYTES: int(1, 64 * 1024 * 1024).default(8 * 1024 * 1024)
    .describe('chat applications: body bytes of a raw upload (PUT .../messages/:n/body), streamed to the s3/fs store; with CHAT_BODY_STORE=cassandra CHAT_MAX_BODY_BYTES applies instead'),
  CHAT_NUMBERING: z.enum(['coalesced', 'single']).default('coalesced')
    .describe('`single`: one counter LWT per create (the benchmark\'s baseline)'),
  CHAT_LOG_RETENTION_SECONDS: int(3600).default(7 * 86_400)
    .describe('TTL of the chat change log'),
  // Where message bodies live (docs/file-storage.md).
  CHAT_BODY_STORE: z.enum(['s3', 'fs', 'cassandra']).default('s3')
    .describe('where message bodies live: `s3` (any S3 API; versitygw under make run/test), `fs` (a local directory, one node), `cassandra` (the row\'s cell, no version bodies)'),
  // 4 KiB: most chat messages whole in the row; 2 MiB of row for a 500-row page.
  CHAT_BODY_INLINE_BYTES: int(0, 64 * 1024).default(4096)
    .describe('first bytes of a body kept in the row with an object store: search indexes them; a list reads a body this small from the row'),
  CHAT_HISTORY_MAX_VERSIONS: int(1, 1000).default(20)
    .describe('versions of a message kept (the current one included)'),
  CHAT_HISTORY_MAX_AGE_SECONDS: int(0).default(30 * 86_400)
    .describe('older versions are dropped (0: no age limit); the current one always stays'),
  // Longer than any write between its object and its row (a request's 5 s + Paxos settling): the sweeper never
  // races a write in flight.
  BODY_ORPHAN_GRACE_SECONDS: int(10, 30 * 86_400).default(600)
    .describe('an object no row points to is removed once older than this'),
  BODY_STORE_PREFIX: z.string().regex(/^([A-Za-z0-9_.-]+\/)*$/, 'must be empty or path segments ending in /').default('')
    .describe('prepended to every object key (several deployments or test runs in one bucket or directory)'),
  BODY_STORE_DIR: z.string().min(1).default(path.join(os.tmpdir(), 'ephemera-bodies'))
    .describe('the `fs` body store\'s directory'),
  S3_ENDPOINT: z.string().url().default('http://127.0.0.1:9700')
    .describe('the S3 API (`s3` body store)'),
  S3_REGION: z.string().min(1).default('us-east-1')
    .describe('S3 signing region'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name').default('ephemera')
    .describe('S3 bucket of message bodies'),
  S3_PATH_STYLE: z.enum(['true', 'false']).default('true').transform((v) => v === 'true')
    .describe('`true`: <endpoint>/<bucket>/<key>; `false`: <bucket>.<host>/<key> (AWS)'),
  S3_ACCESS_KEY_ID: z.string().optional()
    .describe('S3 access key (unset: AWS_ACCESS_KEY_ID, else the local versitygw\'s development key)'),
  S3_SECRET_ACCESS_KEY: z.string().optional()
    .describe('S3 secret key (with S3_ACCESS_KEY_ID)'),
  AWS_ACCESS_KEY_ID: z.string().optional()
    .describe('standard environment credentials for S3 (a Kubernetes Secret), when S3_ACCESS_KEY_ID is unset'),
  AWS_SECRET_ACCESS_KEY: z.string().optional()
    .describe('with AWS_ACCESS_KEY_ID'),
  AWS_SESSION_TOKEN: z.string().optional()
    .describe('with temporary AWS_* credentials'),
  AWS_PROFILE: z.string().min(1).optional()
    .describe('S3 credentials chain: the shared-file profile (default `default`; with a local S3_ENDPOINT the ~/.aws files are read only when this or a file variable is set)'),
  AWS_SHARED_CREDENTIALS_FILE: z.string().min(1).optional()
    .describe('S3 credentials chain: the shared credentials file (default ~/.aws/credentials)'),
  AWS_CONFIG_FILE: z.string().min(1).optional()
    .describe('S3 credentials chain: the shared config file (default ~/.aws/config)'),
  AWS_WEB_IDENTITY_TOKEN_FILE: z.string().min(1).optional()
    .describe('S3 credentials chain: web identity (IRSA) token file, with AWS_ROLE_ARN (STS AssumeRoleWithWebIdentity)'),
  AWS_ROLE_ARN: z.string().min(1).optional()
    .describe('S3 credentials chain: the role web identity assumes'),
  AWS_ROLE_SESSION_NAME: z.string().min(1).optional()
    .describe('S3 credentials chain: web identity session name (default ephemera-<time>)'),
  AWS_ENDPOINT_URL_STS: z.string().url().optional()
    .describe('S3 credentials chain: the STS endpoint (default https://sts.<S3_REGION>.amazonaws.com)'),
  AWS_CONTAINER_CREDENTIALS_FULL_URI: z.string().url().optional()
    .describe('S3 credentials chain: container credentials endpoint (EKS Pod Identity, ECS)'),
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: z.string().min(1).optional()
    .describe('S3 credentials chain: ECS task role path on 169.254.170.2'),
  AWS_CONTAINER_AUTHORIZATION_TOKEN: z.string().min(1).optional()
    .describe('S3 credentials chain: Authorization header for the container endpoint'),
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: z.string().min(1).optional()
    .describe('S3 credentials chain: file holding that header (re-read on every refresh)'),
  AWS_EC2_METADATA_SERVICE_ENDPOINT: z.string().url().optional()
    .describe('S3 credentials chain: instance metadata endpoint (default http://169.254.169.254; IMDSv2)'),
  AWS_EC2_METADATA_DISABLED: z.enum(['true', 'false']).default('false').transform((v) => v === 'true')
    .describe('S3 credentials chain: `true` skips instance metadata'),
  S3_REQUEST_TIMEOUT_MS: int(100, 600_000).default(2_000)
    .describe('each S3 request\'s bound, waiting for a slot included: a slow store answers 503'),
  // 64 keeps 4 processes under versitygw's 256 conditional-write locks per bucket. Measured on a loaded 2-core box:
  // 16 in flight ~60 PUTs/s, 250 in flight no faster (p50 3.6 s).
  S3_MAX_IN_FLIGHT: int(1, 4096).default(64)
    .describe('S3 requests in flight per process; more wait for a slot'),
  // true: PUT/PATCH/DELETE of applications, chats and messages without If-Match answer 428 (RFC 6585).
  REQUIRE_IF_MATCH: z.enum(['true', 'false']).default('false').transform((v) => v === 'true')
    .describe('`true`: PUT/PATCH/DELETE of applications, chats and messages without `If-Match` are 428'),
  COUNTS_RECONCILE_SECONDS: int(60, 3600).default(1800)
    .describe('full count reconciliation period'),
  COUNTS_LOCK_TTL_SECONDS: int(5).default(30)
    .describe('the counts worker\'s locks'),
  // A SIGKILLed indexer's lock blocks the next one this long (2 s minimum: one renewal per bucket must fit).
  SEARCH_INDEXER_LOCK_TTL_SECONDS: int(2).default(30)
    .describe('the search indexer\'s consumer lock: how long a killed indexer blocks the next; also the search reconciliation\'s lock'),
  // Search reconciliation period (docs/design.md, "Search (OpenSearch)"): the longest a lost change entry leaves a stale body searchable.
  SEARCH_RECONCILE_SECONDS: int(60, 86_400).default(1800)
    .describe('search reconciliation period (index versions against row versions)'),
}).superRefine((c, ctx) => {
  if (c.WORKERS > 1 && c.METRICS_PORT === 0) {
    ctx.addIssue({
      code: 'custom', path: ['METRICS_PORT'],
      message: 'is required when WORKERS > 1 (the cluster primary serves the sum of all workers\' metrics there)',
    });
  }
  if (c.AUTH_MODE === 'jwt' && !c.AUTH_JWT_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['AUTH_JWT_SECRET'], message: 'is required when AUTH_MODE=jwt' });
  }
  if (c.CHAT_BODY_STORE === 'cassandra' && c.CHAT_MAX_BODY_BYTES > 1024 * 1024) {
    ctx.addIssue({ code: 'custom', path: ['CHAT_MAX_BODY_BYTES'],
      message: 'must be at most 1048576 with CHAT_BODY_STORE=cassandra (a body is one cell); use s3 or fs for more' });
  }
  if ((c.S3_ACCESS_KEY_ID === undefined) !== (c.S3_SECRET_ACCESS_KEY === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['S3_SECRET_ACCESS_KEY'], message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together' });
  }
  if (c.OPENSEARCH_PASSWORD && !c.OPENSEARCH_USERNAME) {
    ctx.addIssue({ code: 'custom', path: ['OPENSEARCH_USERNAME'], message: 'is required when OPENSEARCH_PASSWORD is set' });
  }
  if (ackDeadlineMs(c) < 2 * c.CASSANDRA_REQUEST_TIMEOUT_MS) {
    ctx.addIssue({
      code: 'custom', path: ['DELIVERY_SETTLE_MS'],
      message: `minus MAX_CLOCK_SKEW_MS minus 500 ms (the acknowledgement deadline, now ${ackDeadlineMs(c)} ms) must be `
        + 'at least twice CASSANDRA_REQUEST_TIMEOUT_MS (a create needs two writes inside it)',
    });
  }
  // Cassandra refuses TTLs over 20 years: the longest hot row lives timeout + grace.
  if (c.MAX_TIMEOUT_SECONDS + c.HOT_GRACE_SECONDS > MAX_CQL_TTL_SECONDS) {
    ctx.addIssue({
      code: 'custom', path: ['HOT_GRACE_SECONDS'],
      message: `plus MAX_TIMEOUT_SECONDS must not exceed ${MAX_CQL_TTL_SECONDS} (Cassandra's 20-year TTL cap)`,
    });
  }
  const factors = Object.entries(c.CASSANDRA_REPLICATION).filter(([k]) => k !== 'class').map(([, v]) => Number(v));
  // Paxos at LOCAL_SERIAL runs per datacenter: two datacenters could each grant the same writer slot or claim
  // the same page. Until leases and cursors use SERIAL across datacenters, one datacenter only.
  if (factors.length > 1) {
    ctx.addIssue({
      code: 'custom', path: ['CASSANDRA_REPLICATION'],
      message: 'names more than one datacenter; leases and delivery cursors are only safe within one (LOCAL_SERIAL)',
    });
  }
  // With RF > 1, a write at ONE can be invisible to a read at ONE, and a reader would move its watermark past an
  // acknowledged message.
  if (['ANY', 'ONE', 'LOCAL_ONE'].includes(c.CASSANDRA_CONSISTENCY) && Math.max(...factors) > 1) {
    ctx.addIssue({
      code: 'custom', path: ['CASSANDRA_CONSISTENCY'],
      message: `${c.CASSANDRA_CONSISTENCY} with a replication factor above 1 can lose acknowledged messages; use LOCAL_QUORUM`,
    });
  }
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/** Validates the environment once; the message names every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
