import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runArchiver } from '../../src/workers/archiver/run.js';
import type { RunningServer } from '../../src/server.js';
import { getJson, log, postChat, testConfig, uniqueUser } from './harness.js';
import { archiverSettings } from '../../src/settings.js';

// A real Prometheus for the tests (Debian's `prometheus`, started by scripts/dev/prometheus.sh with the chart's
// rules, scraping every 1 s) and the traffic that gives every dashboard panel something to show.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An entry of scripts/check/promql-exprs.mjs: `expectData` marks those a healthy run must answer. */
export interface Expr { source: string; name: string; kind: string; expectData: boolean; expr: string }
export interface QueryResult { status: string; error?: string; data?: { resultType: string; result: unknown[] } }

export const shippedExprs = (): Expr[] =>
  JSON.parse(execFileSync(process.execPath, ['scripts/check/promql-exprs.mjs'], { cwd: ROOT, encoding: 'utf8' })) as Expr[];

export function hasPrometheus(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v prometheus'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

export async function query(promUrl: string, expr: string): Promise<QueryResult> {
  const res = await fetch(`${promUrl}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr }),
  });
  return await res.json() as QueryResult;
}

export interface TestPrometheus { url: string; stop: () => Promise<void> }

/** Prometheus scraping target, with its own state directory so a developer's instance is left alone. */
export async function startPrometheus(target: string): Promise<TestPrometheus> {
  assert.ok(hasPrometheus(),
    "prometheus is not installed: run scripts/check/promtool-test.sh as root (installs Debian's prometheus package)");
  const cache = mkdtempSync(join(tmpdir(), 'ephemera-prom-test-'));
  const env = { ...process.env, EPHEMERA_CACHE: cache };
  const port = await freePort();
  const { stdout } = await run('scripts/dev/prometheus.sh', ['start', target, String(port)], { cwd: ROOT, env });
  const url = stdout.trim().split('\n').pop()!;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  return {
    url,
    stop: async () => {
      await run('scripts/dev/prometheus.sh', ['stop'], { cwd: ROOT, env }).catch((err: Error) => log.warn({ err: err.message }, 'prometheus stop'));
      rmSync(cache, { recursive: true, force: true });
    },
  };
}

/**
 * One archiver run (in this process, so its metrics are on this server's /metrics, as with serve
 * --archive-every), then user traffic until stopped: creates, reads, lists, 400s and 404s, about 10 rounds a
 * second, so rates and histogram quantiles have something to work on at every 1 s scrape.
 */
export async function startTraffic(server: RunningServer): Promise<{ stop: () => Promise<number> }> {
  let outcome = await runArchiver(server.db, archiverSettings(testConfig()), log);
  for (let i = 0; outcome === 'locked' && i < 45; i++) {
    await sleep(1000); // another test process holds the archiver lock (TTL 30 s)
    outcome = await runArchiver(server.db, archiverSettings(testConfig()), log);
  }
  assert.equal(outcome, 'success');

  let stopped = false;
  let round = 0;
  const loop = (async () => {
    while (!stopped) {
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
    return round;
  })();
  // A failed request ends the loop; stop() then rethrows it.
  loop.catch(() => { stopped = true; });
  return { stop: () => { stopped = true; return loop; } };
}

/** startTraffic for `ms`, then stopped. */
export async function scrapedTraffic(server: RunningServer, ms: number): Promise<number> {
  const traffic = await startTraffic(server);
  await sleep(ms);
  return traffic.stop();
}

/** Waits until Prometheus has scraped the service (up == 1) and evaluated the recording rule. */
export async function waitScraped(promUrl: string, serviceUrl: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await query(promUrl, 'up{job="ephemera"} == 1');
    const rec = await query(promUrl, 'ephemera_http_requests_per_second > 0');
    if (up.data?.result.length && rec.data?.result.length) return;
    assert.ok(Date.now() < deadline, `Prometheus has no data from ${serviceUrl}: ${JSON.stringify(up)}`);
    await sleep(500);
  }
}
