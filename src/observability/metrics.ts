import client from 'prom-client';

/** One registry per process; every metric name is part of the documented contract (docs/interfaces.md, chart, alerts). */
export const registry = new client.Registry();

const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5];
const DB_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export const httpRequests = new client.Counter({
  name: 'ephemera_http_requests_total',
  help: 'HTTP requests by route template, method and status. Its per-pod rate is the autoscaling signal.',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [registry],
});
export const httpDuration = new client.Histogram({
  name: 'ephemera_http_request_duration_seconds',
  help: 'HTTP request latency by route template, method and status.',
  labelNames: ['route', 'method', 'status'] as const,
  buckets: HTTP_BUCKETS,
  registers: [registry],
});
export const httpInFlight = new client.Gauge({
  name: 'ephemera_http_requests_in_flight',
  help: 'HTTP requests being served now.',
  registers: [registry],
});
export const dbDuration = new client.Histogram({
  name: 'ephemera_cassandra_query_duration_seconds',
  help: 'Cassandra statement latency by statement name.',
  labelNames: ['statement'] as const,
  buckets: DB_BUCKETS,
  registers: [registry],
});
export const dbErrors = new client.Counter({
  name: 'ephemera_cassandra_query_errors_total',
  help: 'Cassandra statement failures by statement name.',
  labelNames: ['statement'] as const,
  registers: [registry],
});
/**
 * Bytes of CQL frame bodies per statement name (driver request tracker): what each statement costs the network
 * and Cassandra's codec, summed with the statement counts by `make bench-statements` into bytes per request.
 */
export const dbRequestBytes = new client.Counter({
  name: 'ephemera_cassandra_request_bytes_total',
  help: 'Bytes of CQL request bodies sent, by statement name (every send, retries included).',
  labelNames: ['statement'] as const,
  registers: [registry],
});
export const dbResponseBytes = new client.Counter({
  name: 'ephemera_cassandra_response_bytes_total',
  help: 'Bytes of CQL response bodies received, by statement name.',
  labelNames: ['statement'] as const,
  registers: [registry],
});
/** Conditional statements (Paxos: several round trips between replicas each), by statement name. */
export const dbLwt = new client.Counter({
  name: 'ephemera_cassandra_lwt_total',
  help: 'Conditional (IF ...) statements sent, i.e. Paxos rounds started, by statement name.',
  labelNames: ['statement'] as const,
  registers: [registry],
});
export const dbOpenConnections = new client.Gauge({
  name: 'ephemera_cassandra_pool_open_connections',
  help: 'Open driver connections across all hosts.',
  registers: [registry],
});
export const dbInFlight = new client.Gauge({
  name: 'ephemera_cassandra_pool_in_flight_queries',
  help: 'Queries in flight on driver connections across all hosts.',
  registers: [registry],
});
export const messagesCreated = new client.Counter({
  name: 'ephemera_messages_created_total', help: 'Messages accepted by POST /chat.', registers: [registry],
});
export const messagesConsumed = new client.Counter({
  name: 'ephemera_messages_consumed_total', help: 'Messages delivered by GET /chats/:username.', registers: [registry],
});
export const messagesArchived = new client.Counter({
  name: 'ephemera_messages_archived_total', help: 'Timed-out messages moved to cold storage by the archiver.', registers: [registry],
});
export const archiverSwept = new client.Counter({
  name: 'ephemera_archiver_swept_total', help: 'Expiry-index entries processed by the archiver.', registers: [registry],
});
/** The bucketed log's gauge (storage/bucketed-log.ts), one series per consumer: the counts worker and the indexer. */
export const logConsumerLag = new client.Gauge({
  name: 'ephemera_log_consumer_lag_seconds',
  help: 'Age of the oldest settled bucket of a bucketed log that a consumer has not walked yet.',
  labelNames: ['log', 'consumer'] as const,
  registers: [registry],
});
export const archiverLag = new client.Gauge({
  name: 'ephemera_archiver_lag_seconds',
  help: 'Age of the oldest expiry bucket not yet swept (0 when caught up).',
  registers: [registry],
});
export const archiverLastSuccess = new client.Gauge({
  name: 'ephemera_archiver_last_success_timestamp_seconds',
  help: 'Unix time of the last successful archiver run.',
  registers: [registry],
});
export const archiverRuns = new client.Counter({
  name: 'ephemera_archiver_runs_total',
  help: 'Archiver runs by result (success, failure, locked).',
  labelNames: ['result'] as const,
  registers: [registry],
});
export const archiverRunDuration = new client.Gauge({
  name: 'ephemera_archiver_run_duration_seconds', help: 'Duration of the last archiver run.', registers: [registry],
});
export const writerLeaseHeld = new client.Gauge({
  name: 'ephemera_writer_lease_held', help: '1 while this process holds an id-writer lease.', registers: [registry],
});
export const writerIdGauge = new client.Gauge({
  name: 'ephemera_writer_id', help: 'The id-writer slot this process holds (-1 when none).', registers: [registry],
});
writerIdGauge.set(-1);

let defaultsOn = false;
export function collectDefaultMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  client.collectDefaultMetrics({ register: registry, prefix: 'ephemera_' });
}
export const clockOffset = new client.Gauge({
  name: 'ephemera_clock_offset_seconds',
  help: 'This process\'s clock minus Cassandra\'s (coordinator) clock, measured at start-up and every 30 s',
  registers: [registry],
});
export const workerClockPaused = new client.Gauge({
  name: 'ephemera_worker_clock_paused',
  help: 'Derived-work worker (counts, indexer, archiver) paused because its clock is outside MAX_CLOCK_SKEW_MS / 2 of Cassandra\'s (1) or running (0).',
  labelNames: ['worker'] as const,
  registers: [registry],
});
