import client from 'prom-client';
import { registry } from './metrics.js';

/** Metrics of the chat-applications product and its workers (same registry, same naming contract). */
export const numberingCas = new client.Counter({
  name: 'ephemera_chat_numbering_cas_total',
  help: 'Conditional writes on number counters by result: applied, not_applied (lost a race: contention), unknown (timed out).',
  labelNames: ['result'] as const,
  registers: [registry],
});
export const numberingClaimSize = new client.Histogram({
  name: 'ephemera_chat_numbering_claim_size',
  help: 'Numbers claimed by one applied counter write (creates coalesced into it).',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  registers: [registry],
});
export const numberingSkipped = new client.Counter({
  name: 'ephemera_chat_numbering_skipped_total',
  help: 'Numbers never handed out because a timed-out counter write left it unsure whose they were (gaps).',
  registers: [registry],
});
export const chatEntitiesCreated = new client.Counter({
  name: 'ephemera_chat_created_total',
  help: 'Applications, chats and messages created.',
  labelNames: ['entity'] as const,
  registers: [registry],
});
export const countsLag = new client.Gauge({
  name: 'ephemera_counts_lag_seconds',
  help: 'How far chats_count/messages_count may be behind: the counts consumer lag, or the time since the last reconciliation when that is older than an hour.',
  registers: [registry],
});
export const countsRuns = new client.Counter({
  name: 'ephemera_counts_runs_total',
  help: 'Counts worker passes by kind (log, reconcile) and result (success, failure, locked).',
  labelNames: ['kind', 'result'] as const,
  registers: [registry],
});
export const countsRecounted = new client.Counter({
  name: 'ephemera_counts_recounted_buckets_total',
  help: 'Number-range partitions recounted from source rows by the counts worker.',
  labelNames: ['kind'] as const,
  registers: [registry],
});
export const countsReconcileLastSuccess = new client.Gauge({
  name: 'ephemera_counts_reconcile_last_success_timestamp_seconds',
  help: 'Unix time of the last complete counts reconciliation.',
  registers: [registry],
});

// Every label value exists from the start (at 0), so dashboards and rates see a series before the first event.
for (const result of ['applied', 'not_applied', 'unknown']) numberingCas.inc({ result }, 0);
for (const entity of ['application', 'chat', 'message']) chatEntitiesCreated.inc({ entity }, 0);
for (const kind of ['log', 'reconcile']) {
  for (const result of ['success', 'failure', 'locked']) countsRuns.inc({ kind, result }, 0);
}
