import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ackDeadlineMs } from './inbox/settle.js';
import { availableCpus } from './cpus.js';

const CONSISTENCIES = [
  'ANY', 'ONE', 'TWO', 'THREE', 'QUORUM', 'ALL', 'LOCAL_QUORUM', 'EACH_QUORUM', 'LOCAL_ONE',
] as const;
const SERIAL_CONSISTENCIES = ['SERIAL', 'LOCAL_SERIAL'] as const;

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

const schema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  METRICS_PORT: int(0, 65535).default(0),
  WORKERS: workerCount.default(1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // 0: one synchronous write per log line. > 0: buffered asynchronous writes (src/logger.ts says what it saves).
  LOG_BUFFER_BYTES: int(0, 1024 * 1024).default(4096),
  SHUTDOWN_TIMEOUT_MS: int(0).default(10_000),
  REQUEST_TIMEOUT_MS: int(100).default(5_000),
  MAX_BODY_BYTES: int(1024, 10 * 1024 * 1024).default(256 * 1024),
  MAX_USERNAME_LENGTH: int(1, 1024).default(128),
  MAX_TEXT_BYTES: int(1, 1024 * 1024).default(64 * 1024),
  MAX_TIMEOUT_SECONDS: int(1, MAX_CQL_TTL_SECONDS).default(604_800),
  MAX_CLOCK_SKEW_MS: int(0, 60_000).default(2_000),
  CASSANDRA_CONTACT_POINTS: z.string().min(1).prefault('127.0.0.1:9042')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean)),
  CASSANDRA_LOCAL_DC: z.string().min(1).default('datacenter1'),
  CASSANDRA_USERNAME: z.string().optional(),
  CASSANDRA_PASSWORD: z.string().optional(),
  CASSANDRA_HOT_KEYSPACE: keyspaceName.default('ephemera_hot'),
  CASSANDRA_COLD_KEYSPACE: keyspaceName.default('ephemera_cold'),
  CASSANDRA_REPLICATION: replication.prefault('SimpleStrategy:1'),
  CASSANDRA_CONSISTENCY: z.enum(CONSISTENCIES).default('LOCAL_ONE'),
  CASSANDRA_SERIAL_CONSISTENCY: z.enum(SERIAL_CONSISTENCIES).default('LOCAL_SERIAL'),
  CASSANDRA_REQUEST_TIMEOUT_MS: int(100).default(2_000),
  CASSANDRA_CONNECT_TIMEOUT_MS: int(100).default(5_000),
  CASSANDRA_DEFUNCT_READ_TIMEOUTS: int(1, 1024).default(64),
  HOT_GRACE_SECONDS: int(60, 31_536_000).default(259_200),
  // How long a per-user (listable) row outlives its timeout: only lists read it, and they skip expired rows. At least
  // 1: `timeout: 0` plus 0 would be `USING TTL 0`, which in CQL means a row that never expires.
  USER_ROW_GRACE_SECONDS: int(1, 86_400).default(60),
  DELIVERY_SETTLE_MS: int(1_000).default(10_000),
  LIST_PAGE_SIZE: int(10, 10_000).default(500),
  LIST_PAGE_BYTES: int(64 * 1024, 256 * 1024 * 1024).default(4 * 1024 * 1024),
  WRITER_LEASE_TTL_MS: int(5_000).default(30_000),
  ARCHIVER_LOCK: z.enum(['auto', 'kubernetes', 'cassandra']).default('auto'),
  ARCHIVER_LOCK_TTL_SECONDS: int(5).default(30),
  ARCHIVE_BATCH_CONCURRENCY: int(1, 512).default(8),
  ARCHIVE_SLICE_BYTES: int(64 * 1024, 64 * 1024 * 1024).default(1024 * 1024),
  LEASE_NAME: z.string().default('ephemera-archiver'),
  POD_NAMESPACE: z.string().default('default'),
  POD_NAME: z.string().default(os.hostname()),
  PUSHGATEWAY_URL: z.string().url().optional(),
  KUBERNETES_SERVICE_HOST: z.string().optional(),
  MAX_CONNECTIONS: int(1).default(10_000),
  IDEMPOTENCY_TTL_SECONDS: int(60, 30 * 86_400).default(86_400),
  RATE_LIMIT_CLIENT_RPS: z.coerce.number().min(0).default(0),
  RATE_LIMIT_USERNAME_RPS: z.coerce.number().min(0).default(0),
  RATE_LIMIT_BURST_SECONDS: z.coerce.number().min(1).default(2),
  // POST /applications per client (on by default: each create is a new tenant with rows in Cassandra). 10/min with a
  // burst of 30: a person or a deploy script never waits; a loop from one address gets at most 14,400 a day per pod.
  RATE_LIMIT_APPLICATION_CREATES_PER_MINUTE: z.coerce.number().min(0).default(10),
  RATE_LIMIT_APPLICATION_CREATES_BURST: int(1, 100_000).default(30),
  // Bearer token of GET /applications (the list of every token). Unset: that list answers 401 to everyone.
  // RFC 6750 token68 characters, 32 or more (about 190 bits as base64url): it guards every application.
  ADMIN_TOKEN: z.string().regex(/^[A-Za-z0-9._~+/-]{32,512}=*$/,
    'must be 32-512 characters of A-Z a-z 0-9 . _ ~ + / - (a bearer token), e.g. openssl rand -base64 32').optional(),
  // GET /chat/:username as other deployments have it (off by default: the public contract has /chats/:username).
  CHAT_PATH_USERNAMES: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  OPENSEARCH_URL: z.string().url().default('http://127.0.0.1:9200'),
  OPENSEARCH_USERNAME: z.string().optional(),
  OPENSEARCH_PASSWORD: z.string().optional(),
  OPENSEARCH_INDEX_PREFIX: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a lower-case index name prefix')
    .default('ephemera'),
  OPENSEARCH_REQUEST_TIMEOUT_MS: int(50, 60_000).default(2_000),
  OPENSEARCH_BULK_TIMEOUT_MS: int(100, 600_000).default(30_000),
  OPENSEARCH_SHARDS: int(1, 1024).default(1),
  OPENSEARCH_REPLICAS: int(0, 16).default(0),
  // 500 ms instead of OpenSearch's 1 s: with the fast path the refresh is most of a change's way to search (README).
  OPENSEARCH_REFRESH_INTERVAL_MS: int(100, 60_000).default(500),
  // 256 at most: OpenSearch 2.19 refuses to build the automaton of longer repetitive patterns (`*a…a*` of 384).
  SEARCH_QUERY_MAX_CHARS: int(1, 256).default(256),
  // The fast path (README "Message search"): the API process indexes a change right after its row write.
  SEARCH_FAST_INDEX: z.enum(['on', 'off']).default('on').transform((v) => v === 'on'),
  SEARCH_FAST_INDEX_QUEUE: int(1, 1_000_000).default(10_000),
  SEARCH_FAST_INDEX_LINGER_MS: int(0, 1_000).default(5),
  AUTH_MODE: z.enum(['none', 'jwt']).default('none'),
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  AUTH_JWT_ISSUER: z.string().optional(),
  AUTH_JWT_AUDIENCE: z.string().optional(),
  // Chat applications (README "Chat applications").
  CHAT_MAX_NAME_LENGTH: int(1, 1024).default(255),
  // Up to 1 MiB in a Cassandra cell; up to 64 MiB with an object store.
  CHAT_MAX_BODY_BYTES: int(1, 64 * 1024 * 1024).default(64 * 1024),
  CHAT_NUMBERING: z.enum(['coalesced', 'single']).default('coalesced'),
  CHAT_LOG_RETENTION_SECONDS: int(3600).default(7 * 86_400),
  // Where message bodies live (docs/file-storage.md): `s3` (any S3 API; versitygw under make run/test), `fs` (a
  // local directory: one node), `cassandra` (the body in the message row's cell, no history bodies).
  CHAT_BODY_STORE: z.enum(['s3', 'fs', 'cassandra']).default('s3'),
  // The first bytes of a body kept in the row with an object store: search indexes them, and a list reads a body
  // this small from the row alone (4 KiB: ~95 % of chat messages whole, 2 MiB of row for a 500-row page).
  CHAT_BODY_INLINE_BYTES: int(0, 64 * 1024).default(4096),
  // Versions of a message whose bodies are kept (the current one included), and for how long (0: no age limit).
  CHAT_HISTORY_MAX_VERSIONS: int(1, 1000).default(20),
  CHAT_HISTORY_MAX_AGE_SECONDS: int(0).default(30 * 86_400),
  // An object no row points to is removed after this long: longer than any write between its object and its row
  // (a request's 5 s + Paxos settling), so the sweeper never races a write in flight.
  BODY_ORPHAN_GRACE_SECONDS: int(10, 30 * 86_400).default(600),
  // Prepended to every object key: several deployments (or test runs) may share one bucket or directory.
  BODY_STORE_PREFIX: z.string().regex(/^([A-Za-z0-9_.-]+\/)*$/, 'must be empty or path segments ending in /').default(''),
  BODY_STORE_DIR: z.string().min(1).default(path.join(os.tmpdir(), 'ephemera-bodies')),
  S3_ENDPOINT: z.string().url().default('http://127.0.0.1:9700'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name').default('ephemera'),
  S3_PATH_STYLE: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  // Unset: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (a Kubernetes Secret's env), else the
  // local versitygw's development keys (scripts/dev/s3.sh).
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  AWS_SESSION_TOKEN: z.string().optional(),
  S3_REQUEST_TIMEOUT_MS: int(100, 600_000).default(2_000),
  // Per process: 64 keeps 4 processes under versitygw's 256 conditional-write locks per bucket; more requests wait
  // (within S3_REQUEST_TIMEOUT_MS). Measured on a loaded 2-core box: 16 in flight ~60 PUTs/s, 250 no faster.
  S3_MAX_IN_FLIGHT: int(1, 4096).default(64),
  // true: PUT/PATCH/DELETE of applications, chats and messages without If-Match answer 428 (RFC 6585).
  REQUIRE_IF_MATCH: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  COUNTS_RECONCILE_SECONDS: int(60, 3600).default(1800),
  COUNTS_LOCK_TTL_SECONDS: int(5).default(30),
  // A SIGKILLed indexer's lock blocks the next one this long (2 s minimum: one renewal per bucket must fit).
  SEARCH_INDEXER_LOCK_TTL_SECONDS: int(2).default(30),
  // Search reconciliation period (README "Search"): the longest a lost change entry leaves a stale body searchable.
  SEARCH_RECONCILE_SECONDS: int(60, 86_400).default(1800),
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

export type Config = z.infer<typeof schema>;


export class ConfigError extends Error {}

/** Validates the environment once; the message names every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
