import client from 'prom-client';
import { registry } from './metrics.js';

/** Search metrics, in the one registry; names are part of the documented contract (docs/interfaces.md, chart, alerts). */

// Searches answer in ~2-20 ms on a warm node; a bulk of 500 documents takes ~50-500 ms.
const SEARCH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const searchDuration = new client.Histogram({
  name: 'ephemera_search_request_duration_seconds',
  help: 'OpenSearch request latency by operation (search, bulk, ...) and outcome (ok, error, unavailable).',
  labelNames: ['operation', 'outcome'] as const,
  buckets: SEARCH_BUCKETS,
  registers: [registry],
});
export const searchBulkErrors = new client.Counter({
  name: 'ephemera_search_bulk_errors_total',
  help: 'Bulk items OpenSearch refused, by error type (version conflicts are not errors: the index is already newer).',
  labelNames: ['type'] as const,
  registers: [registry],
});
export const searchDocsApplied = new client.Counter({
  name: 'ephemera_search_documents_applied_total',
  help: 'Change events applied to the search index, by kind (upsert, delete) and result (written, stale).',
  labelNames: ['kind', 'result'] as const,
  registers: [registry],
});
export const searchIndexerLag = new client.Gauge({
  name: 'ephemera_search_indexer_lag_seconds',
  help: 'Age of the oldest change not yet applied to the search index (0 when caught up); set by the indexer.',
  registers: [registry],
});
export const searchIndexerRuns = new client.Counter({
  name: 'ephemera_search_indexer_runs_total',
  help: 'Indexer passes over the change log, by result (success, unavailable: OpenSearch down, failure, locked).',
  labelNames: ['result'] as const,
  registers: [registry],
});
export const searchReconcileRepaired = new client.Counter({
  name: 'ephemera_search_reconcile_repaired_total',
  help: 'Documents the search reconciliation wrote because the index was behind the message row (a lost change entry).',
  registers: [registry],
});
export const searchReconcileRuns = new client.Counter({
  name: 'ephemera_search_reconcile_runs_total',
  help: 'Search reconciliations, by result (success, failure, locked).',
  labelNames: ['result'] as const,
  registers: [registry],
});
export const searchReconcileLastSuccess = new client.Gauge({
  name: 'ephemera_search_reconcile_last_success_timestamp_seconds',
  help: 'When the last search reconciliation finished.',
  registers: [registry],
});

// The fast path (src/search/fast-indexer.ts): a change waits ≤ 5 ms in the queue, then one bulk of ~5-50 ms.
const FAST_BUCKETS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export const fastIndexEvents = new client.Counter({
  name: 'ephemera_search_fast_index_total',
  help: 'Changes handed to the fast path, by result: written, stale (the index was newer), refused (permanent), '
    + 'shed_full (queue full, e.g. a long OpenSearch outage), shed_closing (shutdown); shed ones reach the index '
    + 'through the change log.',
  labelNames: ['result'] as const,
  registers: [registry],
});
export const fastIndexQueue = new client.Gauge({
  name: 'ephemera_search_fast_index_queue',
  help: 'Changes waiting in the fast path queue of this process.',
  registers: [registry],
});
export const fastIndexDelay = new client.Histogram({
  name: 'ephemera_search_fast_index_delay_seconds',
  help: 'From the hand-over of a change (after its row write) to OpenSearch acknowledging its bulk.',
  buckets: FAST_BUCKETS,
  registers: [registry],
});
