/**
 * `make bench-statements` / `npx tsx loadtest/bench/bench-statements.ts`: what each endpoint asks of Cassandra,
 * counted by the executor's own per-statement metrics (src/storage/cassandra.ts): CQL statements, conditional
 * statements (LWT: a Paxos round each), and CQL body bytes sent and received, per request.
 *
 * Deterministic, unlike CPU: the service runs with `make run`'s settings (the OpenTelemetry preload, LOG_LEVEL=info,
 * access log to /dev/null, OpenSearch and its fast index path) on its own keyspaces, and each phase sends N requests
 * ONE AT A TIME (no concurrency, so no coalescing or races), scraping /metrics before and after; counts are divided
 * by N. What a request costs is what it sends itself: the background workers (`--archive-every`, `--counts-every`,
 * `--index-every`) are left off, since they walk the change log in 10 s buckets, long after the request and into
 * the next phase (bench-cpu measures what they cost at idle). The id-writer lease and the clock check still run:
 * their statements (those an idle service sends in its first 12 s, plus the workers' names) are reported apart.
 *
 * Environment: N (100) requests per phase; PHASES (all, comma-separated names below); DIST (a tree holding dist/
 * to run instead of this one: the same bench against another build); BENCH_STATEMENTS_PORT (18095);
 * CASSANDRA_HOT_KEYSPACE/COLD (default perf_stmt_hot/perf_stmt_cold), OPENSEARCH_INDEX_PREFIX (perf_stmt);
 * BENCH_NAME. Writes loadtest/results/<BENCH_NAME or bench-statements-<date>>.json and prints a Markdown table.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKER_STATEMENTS } from './measure.js';
import { sleep } from '../../src/async.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = process.env;
env.CASSANDRA_HOT_KEYSPACE ??= 'perf_stmt_hot';
env.CASSANDRA_COLD_KEYSPACE ??= 'perf_stmt_cold';
env.OPENSEARCH_INDEX_PREFIX ??= 'perf_stmt';
const N = Number(env.N ?? 100);
const PORT = Number(env.BENCH_STATEMENTS_PORT ?? 18095);
const DIST = path.resolve(env.DIST ?? ROOT);
const IDLE_MS = 12_000;
const NAME = env.BENCH_NAME ?? `bench-statements-${new Date().toISOString().slice(0, 10)}`;
const BASE = `http://127.0.0.1:${PORT}`;
const say = (msg: string) => process.stdout.write(`==> bench-statements: ${msg}\n`);

type Counters = Map<string, number>; // `${metric}|${statement}` -> value

async function scrape(): Promise<Counters> {
  const text = await (await fetch(`${BASE}/metrics`)).text();
  const out: Counters = new Map();
  const re = /^(ephemera_cassandra_query_duration_seconds_count|ephemera_cassandra_lwt_total|ephemera_cassandra_request_bytes_total|ephemera_cassandra_response_bytes_total|ephemera_cassandra_query_errors_total)\{statement="([^"]+)"\} (\S+)$/gm;
  for (const m of text.matchAll(re)) out.set(`${m[1]}|${m[2]}`, Number(m[3]));
  return out;
}

const METRIC = {
  statements: 'ephemera_cassandra_query_duration_seconds_count', lwt: 'ephemera_cassandra_lwt_total',
  sent: 'ephemera_cassandra_request_bytes_total', received: 'ephemera_cassandra_response_bytes_total',
  errors: 'ephemera_cassandra_query_errors_total',
} as const;

/** Per statement name: the change of each metric between two scrapes. */
function delta(a: Counters, b: Counters): Map<string, Record<keyof typeof METRIC, number>> {
  const out = new Map<string, Record<keyof typeof METRIC, number>>();
  for (const [key, v] of b) {
    const d = v - (a.get(key) ?? 0);
    if (d === 0) continue;
    const [metric, statement] = key.split('|') as [string, string];
    const kind = (Object.keys(METRIC) as (keyof typeof METRIC)[]).find((k) => METRIC[k] === metric)!;
    const row = out.get(statement) ?? { statements: 0, lwt: 0, sent: 0, received: 0, errors: 0 };
    row[kind] += d;
    out.set(statement, row);
  }
  return out;
}

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}):
  Promise<{ status: number; json: unknown; headers: Headers }> {
  const res = await fetch(`${BASE}${url}`, {
    method, headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url} answered ${res.status} ${text.slice(0, 200)}`);
  return { status: res.status, json: text ? JSON.parse(text) as unknown : null, headers: res.headers };
}

/** A sentence of 6 words (~45 bytes), as the load test's messages. */
const text = (i: number) => `message ${i} about the lunch meeting tomorrow`;

interface Phase { name: string; what: string; setup?: () => Promise<void>; request: (i: number) => Promise<unknown> }

function phases(run: string): Phase[] {
  const users = Array.from({ length: N }, (_, i) => `${run}-u${i}`);
  const ids: number[] = [];
  let token = '';
  let hot = 0;
  const chats: number[] = [];
  const chatUrl = () => `/applications/${token}/chats/${hot}`;
  return [
    { name: 'create', what: 'POST /chat (N distinct users)',
      request: async (i) => {
        ids.push(((await call('POST', '/chat', { username: users[i], text: text(i), timeout: 3600 })).json as { id: number }).id);
      } },
    { name: 'create-keyed', what: 'POST /chat with an Idempotency-Key',
      request: (i) => call('POST', '/chat', { username: `${users[i]}-k`, text: text(i), timeout: 3600 },
        { 'idempotency-key': `${run}-key-${i}` }) },
    { name: 'get', what: 'GET /chat/:id (a live message)',
      request: (i) => call('GET', `/chat/${ids[i]}`) },
    { name: 'list-first', what: 'GET /chats/:username, 1 message pending, no cursor yet',
      request: (i) => call('GET', `/chats/${users[i]}`) },
    { name: 'list-empty', what: 'GET /chats/:username, nothing pending (cursor exists)',
      request: (i) => call('GET', `/chats/${users[i]}`) },
    { name: 'list-next', what: 'GET /chats/:username, 1 new message pending (cursor exists)',
      setup: async () => { for (let i = 0; i < N; i++) await call('POST', '/chat', { username: users[i], text: text(i), timeout: 3600 }); },
      request: (i) => call('GET', `/chats/${users[i]}`) },
    { name: 'list-10', what: 'GET /chats/:username, 10 messages pending (cursor exists)',
      setup: async () => {
        for (let i = 0; i < N; i++) for (let k = 0; k < 10; k++) await call('POST', '/chat', { username: users[i], text: text(k), timeout: 3600 });
      },
      request: (i) => call('GET', `/chats/${users[i]}`) },
    { name: 'app-create', what: 'POST /applications',
      request: async (i) => { const a = (await call('POST', '/applications', { name: `${run} app ${i}` })).json as { token: string }; token ||= a.token; } },
    { name: 'chat-create', what: 'POST /applications/:token/chats (into one application)',
      request: async (i) => { chats.push((((await call('POST', `/applications/${token}/chats`, { name: `chat ${i}` })).json) as { number: number }).number); } },
    { name: 'chat-list', what: 'GET /applications/:token/chats (first page)',
      request: () => call('GET', `/applications/${token}/chats`) },
    { name: 'chat-get', what: 'GET /applications/:token/chats/:number',
      request: (i) => call('GET', `/applications/${token}/chats/${chats[i]}`) },
    { name: 'message-create', what: 'POST .../chats/:n/messages (one hot chat, one at a time)',
      setup: async () => { hot = chats[0]!; },
      request: (i) => call('POST', `${chatUrl()}/messages`, { body: text(i) }) },
    { name: 'message-create-new-chat', what: 'POST .../chats/:n/messages (the first message of a chat)',
      request: (i) => call('POST', `/applications/${token}/chats/${chats[i]}/messages`, { body: text(i) }) },
    { name: 'message-list', what: 'GET .../chats/:n/messages?after=k&limit=50 (a page of the hot chat)',
      request: (i) => call('GET', `${chatUrl()}/messages?after=${i % Math.max(1, N - 50)}&limit=50`) },
    { name: 'message-get', what: 'GET .../chats/:n/messages/:m',
      request: (i) => call('GET', `${chatUrl()}/messages/${i + 1}`) },
    { name: 'message-edit', what: 'PATCH .../chats/:n/messages/:m (no If-Match, no lease)',
      request: (i) => call('PATCH', `${chatUrl()}/messages/${i + 1}`, { body: `${text(i)} (edited)` }) },
    { name: 'message-search', what: 'GET .../chats/:n/messages/search?q=unc (partial match; OpenSearch)',
      request: () => call('GET', `${chatUrl()}/messages/search?q=unc&limit=20`) },
  ];
}

async function ready(child: ChildProcess): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}) during start-up`);
    try { if ((await fetch(`${BASE}/readyz`)).status === 200) return; } catch { /* not yet */ }
    await sleep(250);
  }
  throw new Error(`the service was not ready on ${BASE} after 60 s`);
}

const r2 = (v: number) => Math.round(v * 100) / 100;

async function main(): Promise<void> {
  say(`N=${N} requests per phase, one at a time; service from ${path.relative(ROOT, DIST) || '.'}; keyspaces `
    + `${env.CASSANDRA_HOT_KEYSPACE}/${env.CASSANDRA_COLD_KEYSPACE}; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const mig = spawnSync(process.execPath, ['dist/cli.js', 'migrate'], { cwd: DIST, env: { ...env, LOG_LEVEL: 'warn' }, stdio: 'inherit' });
  if (mig.status !== 0) throw new Error('migrate failed (build first: npx tsc -p tsconfig.build.json)');
  const out = openSync('/dev/null', 'w');
  const child = spawn(process.execPath, ['--import', './dist/observability/instrument.js', 'dist/cli.js', 'serve'], {
    cwd: DIST, stdio: ['ignore', out, 'inherit'],
    env: { ...env, PORT: String(PORT), HOST: '127.0.0.1', LOG_LEVEL: env.LOG_LEVEL ?? 'info',
      // The bench creates N applications; the default limit (10 per minute per client) would answer 429.
      RATE_LIMIT_APPLICATION_CREATES_PER_MINUTE: '0' },
  });
  const results: Array<Record<string, unknown>> = [];
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { child.kill('SIGTERM'); process.exit(130); });
  }
  try {
    await ready(child);
    say(`idle for ${IDLE_MS / 1000} s: which statements an idle service sends`);
    const i0 = await scrape();
    await sleep(IDLE_MS);
    const idle = delta(i0, await scrape());
    const background = (s: string) => WORKER_STATEMENTS.test(s) || idle.has(s);
    say(`background statements: ${[...idle.keys()].sort().join(', ') || 'none'}`);
    const run = `st${Date.now().toString(36)}`;
    const wanted = env.PHASES ? new Set(env.PHASES.split(',')) : null;
    for (const phase of phases(run)) {
      if (phase.setup) await phase.setup();
      if (wanted && !wanted.has(phase.name)) continue;
      const a = await scrape();
      for (let i = 0; i < N; i++) await phase.request(i);
      // Work a request leaves behind (the fast search path's hand-over) finishes within this pause.
      await sleep(1500);
      const d = delta(a, await scrape());
      const mine = [...d].filter(([s]) => !background(s));
      const sum = (k: keyof typeof METRIC) => mine.reduce((n, [, v]) => n + v[k], 0) / N;
      const row = {
        phase: phase.name, what: phase.what, requests: N, statements: r2(sum('statements')), lwt: r2(sum('lwt')),
        bytes_sent: Math.round(sum('sent')), bytes_received: Math.round(sum('received')), errors: r2(sum('errors')),
        by_statement: Object.fromEntries(mine.sort(([x], [y]) => x.localeCompare(y)).map(([s, v]) => [s, {
          per_request: r2(v.statements / N), lwt: r2(v.lwt / N), sent: Math.round(v.sent / Math.max(1, v.statements)),
          received: Math.round(v.received / Math.max(1, v.statements)) }])),
        background: Object.fromEntries([...d].filter(([s]) => background(s)).map(([s, v]) => [s, v.statements])),
      };
      results.push(row);
      say(`${phase.name.padEnd(24)} ${String(row.statements).padStart(5)} statements  ${String(row.lwt).padStart(4)} LWT  `
        + `${String(row.bytes_sent).padStart(6)} B sent  ${String(row.bytes_received).padStart(6)} B received per request`);
    }
  } finally {
    child.kill('SIGTERM');
  }
  say('per request (CQL body bytes; statements: name × count):');
  process.stdout.write('\n| endpoint | statements | LWT | bytes sent | bytes received | statements (per request) |\n|---|---|---|---|---|---|\n');
  for (const r of results) {
    const by = Object.entries(r.by_statement as Record<string, { per_request: number; lwt: number }>)
      .map(([s, v]) => `${s}${v.lwt ? ' (LWT)' : ''}${v.per_request === 1 ? '' : ` × ${v.per_request}`}`).join(', ');
    process.stdout.write(`| ${r.what} | ${r.statements} | ${r.lwt} | ${r.bytes_sent} | ${r.bytes_received} | ${by} |\n`);
  }
  mkdirSync(path.join(ROOT, 'loadtest', 'results'), { recursive: true });
  const file = path.join(ROOT, 'loadtest', 'results', `${NAME}.json`);
  writeFileSync(file, JSON.stringify({ when: new Date().toISOString(), n: N, dist: path.relative(ROOT, DIST) || '.', phases: results }, null, 2) + '\n');
  say(`results: ${path.relative(ROOT, file)}`);
}

main().catch((err: unknown) => { process.stderr.write(`bench-statements: ${(err as Error).stack}\n`); process.exitCode = 1; });
