// @ts-check
// End-of-test summary for the Ephemera k6 scripts: a compact text report on stdout and a JSON file.
//
// k6's own text summary is not callable from handleSummary without a remote jslib import (this machine has
// no network but the package registries), so the text is formatted here from the summary data object.

const TREND_ORDER = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'];

function fmtMs(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '-';
  if (v >= 1000) return `${(v / 1000).toFixed(2)}s`;
  if (v >= 10) return `${v.toFixed(1)}ms`;
  return `${v.toFixed(2)}ms`;
}

function pad(s, n) {
  s = String(s);
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function lpad(s, n) {
  s = String(s);
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

/** Every threshold of the run with its verdict: [{metric, expr, ok}]. */
export function thresholdResults(data) {
  const out = [];
  for (const [name, m] of Object.entries(data.metrics)) {
    for (const [expr, t] of Object.entries(m.thresholds || {})) out.push({ metric: name, expr, ok: t.ok });
  }
  return out;
}

function checkResults(group, acc = []) {
  for (const c of group.checks || []) acc.push(c);
  for (const g of group.groups || []) checkResults(g, acc);
  return acc;
}

/** The numbers the benchmark and chart scripts read, in a flat and stable shape. */
export function digest(data, meta) {
  const m = data.metrics;
  const seconds = (data.state && data.state.testRunDurationMs ? data.state.testRunDurationMs : 0) / 1000;
  const trend = (name) => (m[name] ? m[name].values : null);
  const endpoints = {};
  for (const ep of ['create', 'get', 'list', 'roundtrip']) {
    const t = trend(`latency_${ep}`);
    if (t) endpoints[ep] = { count: t.count, rps: seconds ? t.count / seconds : 0, ms: pick(t) };
  }
  // Requests of the scenarios only (setup()'s seeding is left out), as counted by the endpoint trends.
  const requests = ['create', 'get', 'list'].reduce((a, ep) => a + (endpoints[ep] ? endpoints[ep].count : 0), 0);
  const failed = m['http_req_failed{phase:load}'] || m.http_req_failed;
  const duration = m['http_req_duration{phase:load}'] || m.http_req_duration;
  const checks = checkResults(data.root_group);
  return {
    meta,
    duration_s: seconds,
    requests,
    rps: (meta.duration_s || seconds) ? requests / (meta.duration_s || seconds) : 0,
    failed_rate: failed ? failed.values.rate : 0,
    dropped_iterations: m.dropped_iterations ? m.dropped_iterations.values.count : 0,
    vus_max: m.vus_max ? m.vus_max.values.max : null,
    latency_ms: duration ? pick(duration.values) : null,
    endpoints,
    checks: checks.map((c) => ({ name: c.name, passes: c.passes, fails: c.fails })),
    thresholds: thresholdResults(data),
    passed: thresholdResults(data).every((t) => t.ok),
  };
}

function pick(values) {
  const o = {};
  for (const k of [...TREND_ORDER, 'count']) if (values[k] !== undefined) o[k] = values[k];
  return o;
}

/** A short human report: thresholds, throughput, latency per endpoint, checks. */
export function textReport(data, d) {
  const lines = [];
  lines.push('');
  lines.push(`  ephemera load test: ${d.meta.name}  (${d.meta.base_url}, target ${d.meta.rate} req/s for ${d.meta.duration})`);
  lines.push('');
  lines.push(`  requests ........ ${d.requests} in ${d.duration_s.toFixed(1)}s = ${d.rps.toFixed(1)} req/s`);
  lines.push(`  failed .......... ${(d.failed_rate * 100).toFixed(3)}%`);
  lines.push(`  dropped iters ... ${d.dropped_iterations}`);
  lines.push(`  max VUs ......... ${d.vus_max ?? '-'}`);
  lines.push('');
  const head = pad('  latency', 22) + TREND_ORDER.map((k) => lpad(k, 10)).join('') + lpad('count', 9) + lpad('req/s', 9);
  lines.push(head);
  const row = (label, v, rps) => pad(`  ${label}`, 22) + TREND_ORDER.map((k) => lpad(fmtMs(v[k]), 10)).join('')
    + lpad(v.count ?? '', 9) + lpad(rps === undefined ? '' : rps.toFixed(1), 9);
  if (d.latency_ms) lines.push(row('all requests', d.latency_ms, d.rps));
  for (const [ep, e] of Object.entries(d.endpoints)) lines.push(row(ep, e.ms, e.rps));
  lines.push('');
  if (d.checks.length) {
    lines.push('  checks');
    for (const c of d.checks) {
      lines.push(`    ${c.fails ? '✗' : '✓'} ${pad(c.name, 54)} ${c.passes} passed, ${c.fails} failed`);
    }
    lines.push('');
  }
  lines.push('  thresholds');
  for (const t of d.thresholds) lines.push(`    ${t.ok ? '✓' : '✗'} ${pad(t.metric, 34)} ${t.expr}`);
  lines.push('');
  lines.push(`  result: ${d.passed ? 'PASS' : 'FAIL (a threshold was crossed; k6 exits 99)'}`);
  lines.push('');
  return lines.join('\n');
}

/**
 * handleSummary for both scripts: JSON (the digest plus k6's full metric data) to `path`, text to stdout.
 */
export function makeSummary(path, meta) {
  return function handleSummary(data) {
    const d = digest(data, meta);
    const json = JSON.stringify({ ...d, k6: { metrics: data.metrics, state: data.state } }, null, 2);
    return {
      stdout: textReport(data, d) + `  JSON summary: ${path}\n\n`,
      [path]: json + '\n',
    };
  };
}
