import type { Logger } from '../../logger.js';
import { registry } from '../../observability/metrics.js';

/** A CronJob's pod ends before Prometheus could scrape it: its archiver metrics are pushed once per run. */
export async function pushArchiverMetrics(url: string, log: Logger): Promise<void> {
  try {
    const body = (await registry.getMetricsAsJSON())
      .filter((m) => m.name.startsWith('ephemera_archiver_') || m.name === 'ephemera_messages_archived_total');
    const text = (await Promise.all(body.map((m) => registry.getSingleMetricAsString(m.name)))).join('\n') + '\n';
    const res = await fetch(`${url.replace(/\/$/, '')}/metrics/job/ephemera-archiver`, {
      method: 'PUT', body: text, headers: { 'content-type': 'text/plain; version=0.0.4' },
    });
    if (!res.ok) throw new Error(`pushgateway answered ${res.status}`);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'metrics push failed');
  }
}
