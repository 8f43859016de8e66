import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestServer, uniqueUser, postChat, getJson, testConfig, log } from './support/harness.js';
import { runArchiver } from '../src/workers/archiver/run.js';
import type { RunningServer } from '../src/server.js';

// Proof against a real Prometheus (Debian's `prometheus`, started by scripts/dev/prometheus.sh with the chart's
// rules) that every PromQL expression of the dashboard, the alerts and the autoscaler works on what this
// service exposes. scripts/check/promql-exprs.mjs lists them; `expectData` marks those a healthy run must answer.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

interface Expr { source: string; name: string; kind: string; expectData: boolean; expr: string }
interface QueryResult { status: string; error?: string; data?: { resultType: string; result: unknown[] } }

function hasPrometheus(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v prometheus'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function query(promUrl: string, expr: string): Promise<QueryResult> {
  const res = await fetch(`${promUrl}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr }),
  });
  return await res.json() as QueryResult;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dashboard, alert and autoscaler PromQL against a real Prometheus', () => {
  let server: RunningServer;
  let promUrl = '';
  // Its own state directory, so a developer's `scripts/dev/prometheus.sh` instance is left alone.
  const cache = mkdtempSync(join(tmpdir(), 'ephemera-prom-test-'));
  const env = { ...process.env, EPHEMERA_CACHE: cache };
  const exprs = JSON.parse(execFileSync(process.execPath, ['scripts/check/promql-exprs.mjs'], { cwd: ROOT, encoding: 'utf8' })) as Expr[];

  before(async () => {
    assert.ok(hasPrometheus(),
      "prometheus is not installed: run scripts/check/promtool-test.sh as root (installs Debian's prometheus package)");
    server = await startTestServer();
    const port = await freePort();
    const { stdout } = await run('scripts/dev/prometheus.sh', ['start', `127.0.0.1:${server.port}`, String(port)], { cwd: ROOT, env });
    promUrl = stdout.trim().split('\n').pop()!;
    assert.match(promUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  after(async () => {
    await run('scripts/dev/prometheus.sh', ['stop'], { cwd: ROOT, env }).catch((err: Error) => log.warn({ err: err.message }, 'prometheus stop'));
    rmSync(cache, { recursive: true, force: true });
    await server?.close();
  });

  it('when traffic and an archiver run are scraped, then every expression evaluates and every expectData one returns data', async () => {
    // The archiver once, in this process, so its metrics are on this server's /metrics (as with serve --archive-every).
    let outcome = await runArchiver(server.db, testConfig(), log);
    for (let i = 0; outcome === 'locked' && i < 45; i++) {
      await sleep(1000); // another test process holds the archiver lock (TTL 30 s)
      outcome = await runArchiver(server.db, testConfig(), log);
    }
    assert.equal(outcome, 'success');

    // Traffic over several 1 s scrapes, so rates and histogram quantiles have something to work on.
    const until = Date.now() + 6000;
    let round = 0;
    while (Date.now() < until) {
      const user = uniqueUser('prom');
      const created = await postChat(server.url, { username: user, text: `round ${round}`, timeout: 60 });
      assert.equal(created.status, 201);
      assert.equal((await getJson(`${server.url}/chat/${created.body.id}`)).status, 200);
      assert.equal((await getJson(`${server.url}/chats/${user}`)).status, 200);
      assert.equal((await getJson(`${server.url}/chat/not-an-id`)).status, 400);
      assert.equal((await getJson(`${server.url}/chat/${Number(created.body.id) + 1e9}`)).status, 404);
      assert.equal((await getJson(`${server.url}/nowhere`)).status, 404);
      round++;
      await sleep(100);
    }

    // Prometheus scraped it (up == 1) and the recording rule has been evaluated.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const up = await query(promUrl, 'up{job="ephemera"} == 1');
      const rec = await query(promUrl, 'ephemera_http_requests_per_second > 0');
      if (up.data?.result.length && rec.data?.result.length) break;
      assert.ok(Date.now() < deadline, `Prometheus has no data from ${server.url}: ${JSON.stringify(up)}`);
      await sleep(500);
    }

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
