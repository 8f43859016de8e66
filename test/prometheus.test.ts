import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from './support/harness.js';
import { query, scrapedTraffic, shippedExprs, startPrometheus, waitScraped, type TestPrometheus } from './support/prometheus.js';
import type { RunningServer } from '../src/server.js';

// Proof against a real Prometheus (Debian's `prometheus`, started by scripts/dev/prometheus.sh with the chart's
// rules) that every PromQL expression of the dashboard, the alerts and the autoscaler works on what this
// service exposes. scripts/check/promql-exprs.mjs lists them; `expectData` marks those a healthy run must answer.

describe('dashboard, alert and autoscaler PromQL against a real Prometheus', () => {
  let server: RunningServer;
  let prometheus: TestPrometheus;
  let promUrl = '';
  const exprs = shippedExprs();

  before(async () => {
    server = await startTestServer();
    prometheus = await startPrometheus(`127.0.0.1:${server.port}`);
    promUrl = prometheus.url;
  });

  after(async () => {
    await prometheus?.stop();
    await server?.close();
  });

  it('when traffic and an archiver run are scraped, then every expression evaluates and every expectData one returns data', async () => {
    await scrapedTraffic(server, 6000);
    await waitScraped(promUrl, server.url);

    const failures: string[] = [];
    for (const e of exprs) {
      const r = await query(promUrl, e.expr);
      if (r.status !== 'success') {
        failures.push(`${e.source} ${e.kind} "${e.name}": ${r.error}\n    ${e.expr}`);
      } else if (e.expectData && r.data!.result.length === 0) {
        failures.push(`${e.source} ${e.kind} "${e.name}": no data\n    ${e.expr}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${exprs.length} expressions failed:\n${failures.join('\n')}`);
    assert.ok(exprs.filter((e) => e.expectData).length >= 40, 'most expressions are expected to return data');
    for (const source of ['dashboard.json', 'alerts.yaml', 'interfaces.md']) {
      assert.ok(exprs.some((e) => e.source === source), `expressions from ${source} were checked`);
    }
  });

  it('when the service is healthy and the archiver succeeded, then the archiver and availability alerts stay silent', async () => {
    for (const e of exprs.filter((x) => x.kind === 'alert' && /^Ephemera(ArchiverFailing|NoReadyPods)\b/.test(x.name))) {
      const r = await query(promUrl, e.expr);
      assert.equal(r.status, 'success');
      assert.deepEqual(r.data!.result, [], `${e.name} does not fire`);
    }
    const alerts = await fetch(`${promUrl}/api/v1/alerts`).then((r) => r.json()) as { data: { alerts: Array<{ labels: { alertname: string } }> } };
    const active = alerts.data.alerts.map((a) => a.labels.alertname);
    assert.ok(!active.includes('EphemeraArchiverFailing'), `active alerts: ${active.join(', ')}`);
    assert.ok(!active.includes('EphemeraNoReadyPods'), `active alerts: ${active.join(', ')}`);
  });
});
