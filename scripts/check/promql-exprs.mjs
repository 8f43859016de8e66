#!/usr/bin/env node
// List every PromQL expression Ephemera ships, ready to run against a plain Prometheus.
//
//   node scripts/check/promql-exprs.mjs                 JSON array of {source, name, kind, expectData, expr}
//   node scripts/check/promql-exprs.mjs --strings       JSON array of the expressions only
//   node scripts/check/promql-exprs.mjs --expect-data   only the ones that should return data (see below)
//   node scripts/check/promql-exprs.mjs --rules-file    a Prometheus rules file (JSON) recording every
//                                                 expression, for `promtool check rules` (parse check)
//   node scripts/check/promql-exprs.mjs --check         check metric names and leftover variables; exit 1 on a problem
//
// Sources: charts/ephemera/files/dashboard.json (every panel target), charts/ephemera/files/alerts.yaml
// (recording rules and alerts) and the autoscaling signal fixed in the interface spec (the
// prometheus-adapter series and the KEDA query).
//
// Grafana variables are replaced so the expressions run as they are: $namespace -> .* (matches
// series without a namespace label too), $__rate_interval and $__interval -> 1m, $__range -> 1h.
//
// kind: dashboard | record | alert | alert-signal | autoscaler. An alert expression is empty while
// the alert is not firing, so for each alert the script also emits its signals: every top-level
// `or` arm with its final comparison removed (e.g. `max by (namespace) (lag) > 129600` gives
// `max by (namespace) (lag)`). expectData is false where a healthy local run legitimately has no
// data: alert expressions themselves, absent(), kube-state-metrics series, failure-only series.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DASHBOARD = join(root, 'charts/ephemera/files/dashboard.json');
const ALERTS = join(root, 'charts/ephemera/files/alerts.yaml');

const USER_ROUTES = 'route!~"/healthz|/readyz|/metrics"';
const AUTOSCALER = [
  ['prometheus-adapter series ephemera_http_requests_per_second',
    `sum by (namespace, pod) (rate(ephemera_http_requests_total{${USER_ROUTES}}[1m]))`],
  ['KEDA prometheus trigger query',
    `sum(rate(ephemera_http_requests_total{namespace=~"$namespace",${USER_ROUTES}}[1m]))`],
];

// Metric names from the interface spec, plus prom-client's default Node metrics (prefix ephemera_).
const APP_METRICS = {
  counter: ['http_requests_total', 'cassandra_query_errors_total', 'messages_created_total',
    'messages_consumed_total', 'messages_archived_total', 'archiver_swept_total', 'archiver_runs_total',
    'process_cpu_seconds_total', 'process_cpu_user_seconds_total', 'process_cpu_system_seconds_total',
    'chat_numbering_cas_total', 'chat_numbering_skipped_total', 'chat_created_total', 'counts_runs_total',
    'counts_recounted_buckets_total', 'search_indexer_runs_total', 'search_documents_applied_total',
    'search_bulk_errors_total'],
  gauge: ['http_requests_in_flight', 'cassandra_pool_open_connections', 'cassandra_pool_in_flight_queries',
    'archiver_lag_seconds', 'archiver_last_success_timestamp_seconds', 'archiver_run_duration_seconds',
    'writer_lease_held', 'writer_id',
    'counts_lag_seconds', 'log_consumer_lag_seconds', 'search_indexer_lag_seconds', 'counts_reconcile_last_success_timestamp_seconds',
    'process_start_time_seconds', 'process_resident_memory_bytes', 'process_virtual_memory_bytes',
    'process_heap_bytes', 'process_open_fds', 'process_max_fds',
    'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_min_seconds', 'nodejs_eventloop_lag_max_seconds',
    'nodejs_eventloop_lag_mean_seconds', 'nodejs_eventloop_lag_stddev_seconds',
    'nodejs_eventloop_lag_p50_seconds', 'nodejs_eventloop_lag_p90_seconds', 'nodejs_eventloop_lag_p99_seconds',
    'nodejs_active_resources_total', 'nodejs_active_handles_total', 'nodejs_active_requests_total',
    'nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes',
    'nodejs_version_info'],
  histogram: ['http_request_duration_seconds', 'cassandra_query_duration_seconds', 'nodejs_gc_duration_seconds',
    'chat_numbering_claim_size', 'search_request_duration_seconds'],
};
const RECORDED = ['ephemera_http_requests_per_second'];
const FOREIGN = ['up', 'kube_deployment_status_replicas_available'];

function knownMetrics() {
  const known = new Set([...RECORDED, ...FOREIGN]);
  for (const m of [...APP_METRICS.counter, ...APP_METRICS.gauge]) known.add(`ephemera_${m}`);
  for (const m of APP_METRICS.histogram) {
    for (const suffix of ['_bucket', '_sum', '_count']) known.add(`ephemera_${m}${suffix}`);
  }
  return known;
}

function substitute(expr) {
  return expr
    .replace(/\$\{namespace(?::[a-z]+)?\}|\$namespace\b/g, '.*')
    .replace(/\$\{__rate_interval\}|\$__rate_interval\b/g, '1m')
    .replace(/\$\{__interval\}|\$__interval\b/g, '1m')
    .replace(/\$\{__range\}|\$__range\b/g, '1h');
}

function dashboardExprs() {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const out = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) {
        if (typeof t.expr === 'string' && t.expr.trim() !== '') {
          out.push({ source: 'dashboard.json', name: `${p.title} [${t.refId}]`, kind: 'dashboard', expr: t.expr });
        }
      }
      walk(p.panels);
    }
  };
  walk(dash.panels);
  return out;
}

// A small reader for the rule file's own layout: list items under `rules:` with `alert:` or
// `record:`, `expr:` inline (plain or quoted) or as a `|`/`>` block scalar, and `severity:`.
// scripts/check/promtool-test.sh cross-checks the rule count against promtool's.
function unquote(s) {
  s = s.trim();
  if (s.startsWith('"')) return JSON.parse(s);
  if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  return s.replace(/\s+#.*$/, '');
}

function ruleFileExprs() {
  const lines = readFileSync(ALERTS, 'utf8').split('\n');
  const rules = [];
  let cur = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*#/.test(line)) continue;
    const item = /^(\s*)-\s+(alert|record):\s*(.+)$/.exec(line);
    if (item) {
      cur = { [item[2]]: unquote(item[3]) };
      rules.push(cur);
      continue;
    }
    if (!cur) continue;
    const sev = /^\s+severity:\s*(.+)$/.exec(line);
    if (sev) cur.severity = unquote(sev[1]);
    const ex = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!ex) continue;
    const indent = ex[1].length;
    const rest = ex[2].trim();
    if (/^[|>][-+]?$/.test(rest)) {
      const body = [];
      while (i + 1 < lines.length) {
        const next = lines[i + 1];
        if (next.trim() !== '' && next.search(/\S/) <= indent) break;
        body.push(next);
        i++;
      }
      const pad = Math.min(...body.filter((l) => l.trim()).map((l) => l.search(/\S/)));
      const text = body.map((l) => l.slice(pad)).join(rest[0] === '>' ? ' ' : '\n');
      cur.expr = text.trim();
    } else {
      cur.expr = unquote(rest);
    }
  }
  const out = [];
  for (const r of rules) {
    if (!r.expr) throw new Error(`rule ${r.alert ?? r.record} in ${ALERTS}: no expr found`);
    if (r.record) {
      out.push({ source: 'alerts.yaml', name: r.record, kind: 'record', expr: r.expr });
      continue;
    }
    const name = r.severity ? `${r.alert} (${r.severity})` : r.alert;
    out.push({ source: 'alerts.yaml', name, kind: 'alert', expr: r.expr });
    splitTopLevel(r.expr, 'or').forEach((arm, k) => {
      out.push({ source: 'alerts.yaml', name: `${name} signal ${k + 1}`, kind: 'alert-signal', expr: stripComparison(arm) });
    });
  }
  return out;
}

// Split on a binary keyword at parenthesis depth 0 (outside strings).
function splitTopLevel(expr, word) {
  const parts = [];
  let depth = 0;
  let quote = null;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0 && expr.startsWith(word, i) && /\s/.test(expr[i - 1] ?? ' ') && /\s/.test(expr[i + word.length] ?? ' ')) {
      parts.push(expr.slice(start, i));
      start = i + word.length;
    }
  }
  parts.push(expr.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

function stripComparison(expr) {
  return expr.replace(/\s*(==|!=|>=|<=|>|<)\s*(bool\s+)?[-+]?[0-9.eE+]+\s*$/, '').trim();
}

function expectData(e) {
  if (e.kind === 'alert') return false;
  if (/\babsent\(|\bkube_|result="failure"/.test(e.expr)) return false;
  // error counters exist only after a first error, unless an `or ... * 0` arm fills in zeros
  if (/_errors_total/.test(e.expr) && !/\bor\b/.test(e.expr)) return false;
  return true;
}

function all() {
  const list = [
    ...dashboardExprs(),
    ...ruleFileExprs(),
    ...AUTOSCALER.map(([name, expr]) => ({ source: 'interfaces.md', name, kind: 'autoscaler', expr })),
  ];
  return list.map((e) => {
    const expr = substitute(e.expr);
    return { source: e.source, name: e.name, kind: e.kind, expectData: expectData({ ...e, expr }), expr };
  });
}

function check(list) {
  const known = knownMetrics();
  const problems = [];
  for (const e of list) {
    const leftover = /\$\{?[A-Za-z_]\w*/.exec(e.expr);
    if (leftover) problems.push(`${e.source}: ${e.name}: unreplaced variable ${leftover[0]}`);
    const names = e.expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/\b(?:ephemera_\w+|up|kube_\w+)\b/g) ?? [];
    for (const n of names) {
      if (!known.has(n)) problems.push(`${e.source}: ${e.name}: unknown metric ${n}`);
    }
  }
  if (/\{\{/.test(readFileSync(ALERTS, 'utf8'))) problems.push('alerts.yaml: contains "{{" (Helm would see a template)');
  return problems;
}

const args = new Set(process.argv.slice(2));
if (args.has('--help') || args.has('-h')) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 9)
    .map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}
let list = all();
if (args.has('--check')) {
  const problems = check(list);
  for (const p of problems) process.stderr.write(`promql-exprs: ${p}\n`);
  if (problems.length) process.exit(1);
  process.stderr.write(`promql-exprs: ${list.length} expressions, metric names and variables OK\n`);
  process.exit(0);
}
if (args.has('--expect-data')) list = list.filter((e) => e.expectData);
if (args.has('--rules-file')) {
  const rules = list.map((e, i) => ({ record: `ephemera_exprcheck_${i}`, expr: e.expr }));
  process.stdout.write(JSON.stringify({ groups: [{ name: 'exprcheck', rules }] }, null, 2) + '\n');
} else if (args.has('--strings')) {
  process.stdout.write(JSON.stringify(list.map((e) => e.expr), null, 2) + '\n');
} else {
  process.stdout.write(JSON.stringify(list, null, 2) + '\n');
}
