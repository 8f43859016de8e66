/**
 * make test-autoscale (test/pods/autoscale.sh): the chart's HPA (autoscaling.mode=hpa, k8s/values-autoscale.yaml)
 * scales the API Deployment on ephemera_http_requests_per_second, the per-pod request rate that Prometheus scrapes
 * from the pods and prometheus-adapter serves as custom.metrics.k8s.io (scripts/dev/pods/metrics.sh).
 * vegeta loads the Service until at least 3 pods are Ready, then stops; the pods must come back to 1.
 * Every SAMPLE_MS one row of the timeline goes to AUTOSCALE_TIMELINE (CSV; docs/pods.md draws it).
 * Asserts behaviour (replica counts reached), not how long each step took on a shared machine.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CACHE, KUBECONFIG, REPO, sleep, waitFor } from '../k8s/support.js';
import { BASE_URL, NAMESPACE, RELEASE } from './support.js';

const run = promisify(execFile);
const PROM_URL = process.env.PODS_PROM_URL ?? 'http://127.0.0.1:18290';
const KUBECTL = path.join(process.env.K8S_BIN ?? path.join(CACHE, 'k8s-v1.34.4/bin'), 'kubectl');
const VEGETA = path.join(CACHE, 'bin/vegeta');
/** 30 requests/s against a target of 8 per pod (values-autoscale.yaml): the HPA asks ceil(30 / 8) = 4 pods. */
const RATE = Number(process.env.AUTOSCALE_RATE ?? 30);
const SAMPLE_MS = 5_000;
/** Load kept this long after 3 pods are Ready: the timeline shows the load spread over them, not only the step up. */
const HOLD_MS = 30_000;
/** Bounds, not expectations: the load stops as soon as 3 pods are Ready; these only end a run that never gets there. */
const LOAD_MAX_S = 420;
const CALM_MAX_S = 420;
const TIMELINE = process.env.AUTOSCALE_TIMELINE ?? path.join(REPO, 'loadtest/data/autoscale-timeline.csv');

interface Row { t: number; phase: 'load' | 'calm'; loadRate: number; promRate: number; metric: number | null;
  desired: number; current: number; ready: number }

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Quantities as the HPA prints them: "12500m" is 12.5. */
function quantity(q: string | undefined): number | null {
  if (!q) return null;
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

/** The user-facing request rate of the release summed over its pods, from the same Prometheus the adapter asks. */
async function promRate(): Promise<number> {
  const q = `sum(rate(ephemera_http_requests_total{namespace="${NAMESPACE}",route!~"/healthz|/readyz|/metrics"}[1m]))`;
  const res = await fetch(`${PROM_URL}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = await res.json() as { data: { result: { value: [number, string] }[] } };
  return Number(body.data.result[0]?.value[1] ?? 0);
}

async function sample(t0: number, phase: Row['phase'], loadRate: number): Promise<Row> {
  const hpa = JSON.parse(await kubectl('-n', NAMESPACE, 'get', 'hpa', RELEASE, '-o', 'json'));
  const dep = JSON.parse(await kubectl('-n', NAMESPACE, 'get', 'deployment', RELEASE, '-o', 'json'));
  const m = (hpa.status?.currentMetrics ?? []).find((x: { type: string }) => x.type === 'Pods');
  return { t: Math.round((Date.now() - t0) / 1000), phase, loadRate, promRate: Math.round(await promRate() * 100) / 100,
    metric: quantity(m?.pods?.current?.averageValue), desired: hpa.status?.desiredReplicas ?? 0,
    current: hpa.status?.currentReplicas ?? 0, ready: dep.status?.readyReplicas ?? 0 };
}

function log(r: Row) {
  console.log(`# t=${r.t}s ${r.phase} load ${r.loadRate}/s prom ${r.promRate}/s metric/pod ${r.metric ?? '-'} ` +
    `desired ${r.desired} current ${r.current} ready ${r.ready}`);
}

describe('the chart\'s HPA on the request-rate metric (prometheus-adapter)', () => {
  it('when the Service gets more requests than one pod\'s target, then the Deployment grows to >= 3 Ready pods and back to 1 after the load stops', async () => {
    // The metric is served before the load. The adapter lists it once Prometheus has scraped a pod (every 5 s) and
    // its next relist has run (every 10 s): right after the install it may not yet (seen once, 3 s after it).
    await waitFor('custom.metrics.k8s.io to list pods/ephemera_http_requests_per_second', async () => {
      const api = JSON.parse(await kubectl('get', '--raw', '/apis/custom.metrics.k8s.io/v1beta2'));
      return api.resources.some((r: { name: string }) => r.name === 'pods/ephemera_http_requests_per_second');
    }, 90_000, 2_000);
    const hpa0 = JSON.parse(await kubectl('-n', NAMESPACE, 'get', 'hpa', RELEASE, '-o', 'json'));
    assert.equal(hpa0.spec.metrics[0].pods.metric.name, 'ephemera_http_requests_per_second');

    const created = await fetch(`${BASE_URL}/applications`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'autoscale' }) });
    assert.equal(created.status, 201);
    const { token } = await created.json() as { token: string };

    const rows: Row[] = [];
    const t0 = Date.now();
    // New connection per request: kube-proxy picks a pod per connection, so new pods get their share.
    const vegeta = spawn(VEGETA, ['attack', `-rate=${RATE}/s`, `-duration=${LOAD_MAX_S}s`, '-keepalive=false',
      '-timeout=10s', `-output=${path.join(CACHE, 'autoscale-vegeta.bin')}`], { stdio: ['pipe', 'ignore', 'inherit'] });
    vegeta.stdin.end(`GET ${BASE_URL}/applications/${token}\n`);
    const exited = new Promise<void>((r) => vegeta.once('exit', () => r()));
    let maxReady = 0;
    let scaledAt = 0;
    try {
      // Load until 3 pods are Ready (and the HPA counts them) plus HOLD_MS, bounded by LOAD_MAX_S.
      while (Date.now() - t0 < LOAD_MAX_S * 1000 && vegeta.exitCode === null) {
        const r = await sample(t0, 'load', RATE);
        rows.push(r); log(r);
        maxReady = Math.max(maxReady, r.ready);
        if (r.ready >= 3 && r.current >= 3 && !scaledAt) scaledAt = Date.now();
        if (scaledAt && Date.now() - scaledAt >= HOLD_MS) break;
        await sleep(SAMPLE_MS);
      }
    } finally {
      vegeta.kill('SIGINT');
      await exited;
    }
    const report = await run(VEGETA, ['report', path.join(CACHE, 'autoscale-vegeta.bin')]);
    console.log(report.stdout.split('\n').map((l) => `# ${l}`).join('\n'));
    assert.ok(maxReady >= 3, `>= 3 Ready API pods under load (max seen ${maxReady})`);

    // No load: the 1m rate decays, the HPA's 15 s scale-down window passes, the Deployment shrinks to minReplicas.
    const calm = Date.now();
    let last = rows.at(-1)!;
    while (Date.now() - calm < CALM_MAX_S * 1000) {
      await sleep(SAMPLE_MS);
      last = await sample(t0, 'calm', 0);
      rows.push(last); log(last);
      if (last.desired === 1 && last.ready === 1 && last.current === 1) break;
    }
    mkdirSync(path.dirname(TIMELINE), { recursive: true });
    writeFileSync(TIMELINE, ['t_s,phase,load_rps,prom_rps,metric_per_pod,desired,current,ready',
      ...rows.map((r) => [r.t, r.phase, r.loadRate, r.promRate, r.metric ?? '', r.desired, r.current, r.ready].join(','))].join('\n') + '\n');
    console.log(`# timeline: ${TIMELINE}`);
    assert.equal(last.desired, 1, 'the HPA asks for minReplicas again without load');
    assert.equal(last.ready, 1, 'back to 1 Ready API pod');
  });
});
