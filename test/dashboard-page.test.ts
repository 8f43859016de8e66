import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { startTestServer } from './support/harness.js';
import { shippedExprs, startTraffic, startPrometheus, waitScraped, type TestPrometheus } from './support/prometheus.js';
import { startDashboard, type RunningDashboard } from '../scripts/dev/dashboard/server.js';
import type { RunningServer } from '../src/server.js';

// `make dashboard`'s page in headless Chromium, drawing the chart's own dashboard.json from a real Prometheus
// that scrapes a real service with real traffic. A panel that scripts/check/promql-exprs.mjs expects to have
// data (the same list test/prometheus.test.ts checks query by query) must draw some here.
// DASHBOARD_SCREENSHOT=file.png also saves the page (make dashboard-screenshot); DASHBOARD_TRAFFIC_SECONDS
// (default 6) is how long the traffic runs before the page opens (it goes on while the page loads).

const CHART_DASHBOARD = fileURLToPath(new URL('../charts/ephemera/files/dashboard.json', import.meta.url));
const TRAFFIC_SECONDS = Number(process.env.DASHBOARD_TRAFFIC_SECONDS ?? 6);
// Prometheus starts with the test: a range a little longer than the traffic fills the charts.
const RANGE = `now-${Math.max(60, Math.ceil(TRAFFIC_SECONDS * 1.25) + 20)}s`;

interface Panel { id: number; type: string; title: string; gridPos: { x: number; y: number }; panels?: Panel[]; targets?: Array<{ refId: string; expr: string }> }
interface Drawn {
  id: number; title: string; type: string; state: string; points: number;
  targets: Array<{ refId: string; series: number; points: number; error: string | null }>;
}
interface Report {
  refreshes: number; fatal?: string; panels: Drawn[]; range: { start: number; end: number };
  alerts: { firing: number; pending: number; inactive: number; error?: string };
  targets: { up: number; down: number; error?: string };
}

const flatten = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...flatten(p.panels ?? [])]);

/** "Title [A]" entries of promql-exprs.mjs that must have data: which panel target must draw something. */
function expectedData(): Array<{ title: string; refId: string }> {
  return shippedExprs().filter((e) => e.source === 'dashboard.json' && e.expectData).map((e) => {
    const m = /^(.*) \[(\w+)\]$/.exec(e.name);
    assert.ok(m, `promql-exprs.mjs names dashboard entries "Title [refId]", got "${e.name}"`);
    return { title: m[1]!, refId: m[2]! };
  });
}

/** Everything wrong with a drawn page: query errors, expected panels without data, panels not drawn at all. */
function problemsOf(report: Report, dashboard: { panels: Panel[] }): string[] {
  const problems: string[] = [];
  if (report.fatal) problems.push(`page: ${report.fatal}`);
  for (const p of report.panels) {
    for (const t of p.targets) if (t.error) problems.push(`panel "${p.title}" [${t.refId}]: query error: ${t.error}`);
    if (p.state === 'error' && !p.targets.some((t) => t.error)) problems.push(`panel "${p.title}": not drawn`);
  }
  for (const p of flatten(dashboard.panels).filter((x) => x.type !== 'row')) {
    if (!report.panels.some((d) => d.id === p.id)) problems.push(`panel "${p.title}" (id ${p.id}): not drawn`);
  }
  for (const { title, refId } of expectedData()) {
    // Titles repeat (a stat and a time series both called "Replicas"): the panels with that title and target.
    const drawn = report.panels.filter((p) => p.title === title && p.targets.some((t) => t.refId === refId));
    if (drawn.length === 0) problems.push(`panel "${title}": expected data, but no such panel was drawn`);
    for (const p of drawn) {
      const t = p.targets.find((x) => x.refId === refId);
      if (!t?.error && !(t && t.points > 0 && p.points > 0)) problems.push(`panel "${title}" [${refId}]: expected data, drew none`);
    }
  }
  return problems;
}

/** Opens the page and waits for its first full refresh; console errors, page errors and failed requests are collected. */
async function openDashboard(browser: Browser, url: string): Promise<{ page: Page; report: Report; errors: string[]; ms: number; queries: number }> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });
  let queries = 0;
  page.on('request', (r) => { if (/\/api\/v1\/query(_range)?$/.test(r.url())) queries++; });
  const started = Date.now();
  await page.goto(`${url}/?from=${RANGE}&refresh=off`);
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 90_000 });
  const ms = Date.now() - started;
  const report = await page.evaluate(() => (globalThis as unknown as { ephemeraDashboard: unknown }).ephemeraDashboard) as Report;
  return { page, report, errors, ms, queries };
}

describe('make dashboard: the chart dashboard drawn in headless Chromium from a real Prometheus', () => {
  let server: RunningServer;
  let prometheus: TestPrometheus;
  let dashboard: RunningDashboard;
  let browser: Browser;
  let traffic: { stop: () => Promise<number> } | undefined;
  const chart = JSON.parse(readFileSync(CHART_DASHBOARD, 'utf8')) as { title: string; panels: Panel[] };

  before(async () => {
    server = await startTestServer();
    prometheus = await startPrometheus(`127.0.0.1:${server.port}`);
    dashboard = await startDashboard({ prometheusUrl: prometheus.url, dashboardFile: CHART_DASHBOARD, scrapeIntervalSeconds: 1 });
    browser = await launchChromium();
    // The traffic goes on while the pages load: the stat panels ask for the rate over the last few seconds.
    traffic = await startTraffic(server);
    await new Promise((r) => setTimeout(r, TRAFFIC_SECONDS * 1000));
    await waitScraped(prometheus.url, server.url);
  });

  after(async () => {
    await traffic?.stop();
    await browser?.close();
    await dashboard?.close();
    await prometheus?.stop();
    await server?.close();
  });

  it('when traffic was scraped, then every panel draws without a query or console error, every panel expected to have data draws some, and rows, range and refresh work', async (t) => {
    const { page, report, errors, ms, queries } = await openDashboard(browser, dashboard.url);
    t.diagnostic(`first full draw: ${ms} ms from navigation, ${queries} Prometheus queries`);
    assert.deepEqual(errors, [], 'no console error, script error or failed request');
    assert.deepEqual(problemsOf(report, chart), []);

    // The layout is the chart's: every row and every panel title, in the order of their grid positions.
    const panels = flatten(chart.panels).sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
    const rows = panels.filter((p) => p.type === 'row').map((p) => p.title);
    assert.deepEqual(await page.locator('.row-header').allInnerTexts().then((t) => t.map((x) => x.replace(/^[▾▸]\s*/, ''))), rows);
    const shown = await page.locator('.panel .panel-title > span:first-child').allInnerTexts();
    assert.deepEqual(shown, panels.filter((p) => p.type !== 'row').map((p) => p.title));
    assert.equal(report.panels.length, 38, 'the chart has 38 panels besides its rows');
    assert.equal(await page.title(), `${chart.title} dashboard`);

    // Drawn, not only counted: a canvas in each time-series panel, a value in each stat, in the panel's unit.
    for (const p of report.panels.filter((x) => x.state === 'data')) {
      const el = page.locator(`.panel[data-panel-id="${p.id}"]`);
      if (p.type === 'timeseries') assert.ok(await el.locator('canvas').count() > 0, `"${p.title}" has a chart`);
      else assert.ok(await el.locator('.stat-value .number').count() > 0, `"${p.title}" shows a value`);
    }
    const stat = (title: string) => page.locator('.panel[data-type="stat"]', { hasText: title }).locator('.number').first().innerText();
    assert.match(await stat('Requests/s'), /^\d+(\.\d)? req\/s$/, 'unit reqps, 1 decimal');
    assert.match(await stat('p99 latency'), /^[\d.]+ (µs|ms|s)$/, 'unit s');
    assert.match(await stat('5xx ratio'), /^\d+\.\d\d%$/, 'unit percentunit, 2 decimals');
    // Legends follow legendFormat ("{{method}} {{status}}").
    const legend = await page.locator('.panel', { hasText: 'Requests/s by method and status' }).locator('.u-legend .u-label').allInnerTexts();
    for (const want of ['POST 201', 'GET 200', 'GET 400', 'GET 404']) assert.ok(legend.includes(want), `legend has "${want}" (${legend.join(', ')})`);

    // Beside the panels: the scrape target is up and every alert rule of alerts.yaml has a state.
    const alertRules = shippedExprs().filter((e) => e.kind === 'alert').length;
    assert.deepEqual(report.targets, { up: 1, down: 0 });
    assert.equal(report.alerts.firing + report.alerts.pending + report.alerts.inactive, alertRules, JSON.stringify(report.alerts));
    assert.equal(await page.locator('#alerts .alert').count(), alertRules);

    if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });

    // What a person does with it: close and reopen a row, pick another range, let it refresh itself.
    // polled from here: waitForFunction would evaluate a string inside the page, which its CSP (rightly) refuses
    const until = async (what: string, ok: (r: Report) => boolean) => {
      for (const deadline = Date.now() + 60_000; !ok(await page.evaluate('window.ephemeraDashboard') as Report);) {
        assert.ok(Date.now() < deadline, `within 60 s: ${what}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const errorsPanel = page.locator('.panel[data-panel-id="14"]');
    const errorsRow = page.locator('.row-header', { hasText: 'Errors' });
    await errorsRow.click();
    await errorsPanel.waitFor({ state: 'hidden', timeout: 5000 });
    const draws = Number(await errorsPanel.getAttribute('data-draws'));
    await errorsRow.click();
    await errorsPanel.waitFor({ state: 'visible', timeout: 5000 });
    for (const deadline = Date.now() + 60_000; Number(await errorsPanel.getAttribute('data-draws')) <= draws;) {
      assert.ok(Date.now() < deadline, 'the reopened row is drawn again within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.selectOption('#range', 'now-15m');
    await until('a refresh over the last 15 minutes', (r) => Math.round(r.range.end - r.range.start) === 900);
    assert.match(page.url(), /[?&]from=now-15m(&|$)/, 'the range is kept in the URL');
    await page.selectOption('#refresh', '5s');
    const refreshes = (await page.evaluate('window.ephemeraDashboard') as Report).refreshes;
    await until('two refreshes by the 5 s timer', (r) => r.refreshes >= refreshes + 2);
    assert.match(page.url(), /[?&]refresh=5s(&|$)/);
    assert.deepEqual(errors, [], 'still no console error, script error or failed request');
    assert.deepEqual(problemsOf(await page.evaluate('window.ephemeraDashboard') as Report, chart), []);
    await page.close();
  });

  it('when a panel query is broken or finds no series, then the page shows it in that panel and the check above names both', async () => {
    // The control for the check: the chart's dashboard with one query that does not parse and one that matches nothing.
    const dir = mkdtempSync(join(tmpdir(), 'ephemera-dash-test-'));
    const broken = structuredClone(chart);
    const byTitle = (title: string) => flatten(broken.panels).find((p) => p.title === title)!;
    byTitle('Requests/s').targets![0]!.expr = 'sum(rate(ephemera_http_requests_total[$__rate_interval])';
    byTitle('Requests/s by route').targets![0]!.expr = 'sum by (route) (rate(ephemera_no_such_metric_total[$__rate_interval]))';
    writeFileSync(join(dir, 'dashboard.json'), JSON.stringify(broken));
    const other = await startDashboard({ prometheusUrl: prometheus.url, dashboardFile: join(dir, 'dashboard.json'), scrapeIntervalSeconds: 1 });
    try {
      const { page, report, errors } = await openDashboard(browser, other.url);
      const problems = problemsOf(report, broken);
      assert.ok(problems.some((p) => p.startsWith('panel "Requests/s" [A]: query error: bad_data')), problems.join('\n'));
      assert.ok(problems.includes('panel "Requests/s by route" [A]: expected data, drew none'), problems.join('\n'));
      assert.equal(problems.length, 2, problems.join('\n'));
      assert.match(await page.locator('.panel[data-panel-id="2"] .panel-error').innerText(), /^A: bad_data: .*parse error/);
      assert.equal(await page.locator('.panel[data-panel-id="9"] .panel-message').innerText(), 'No data');
      // Prometheus answers a bad query with 400: the page's request log shows that too.
      assert.ok(errors.some((e) => /^HTTP 400: .*\/api\/v1\/query$/.test(e)), errors.join('\n'));
      await page.close();
    } finally {
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
