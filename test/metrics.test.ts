import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { startTestServer, uniqueUser, postChat, getJson } from './support/harness.js';
import type { RunningServer } from '../src/server.js';

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Exposition { text: string; types: Map<string, string>; samples: Sample[] }

/** A small parser for the Prometheus text format prom-client writes. */
function parse(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) { types.set(type[1]!, type[2]!); continue; }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    assert.ok(m, `unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { text, types, samples };
}

async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

const value = (e: Exposition, name: string, labels: Record<string, string> = {}) => e.samples
  .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  .reduce((sum, s) => sum + s.value, 0);

const seriesKeys = (e: Exposition, name: string) => new Set(e.samples.filter((s) => s.name === name)
  .map((s) => JSON.stringify(Object.entries(s.labels).sort())));

/** Runs `tasks` with at most `width` in flight. */
async function pool<T>(tasks: Array<() => Promise<T>>, width = 16): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  }));
  return out;
}

// docs/interfaces.md, "Metrics"
const DOCUMENTED: Record<string, string> = {
  ephemera_http_requests_total: 'counter',
  ephemera_http_request_duration_seconds: 'histogram',
  ephemera_http_requests_in_flight: 'gauge',
  ephemera_cassandra_query_duration_seconds: 'histogram',
  ephemera_cassandra_query_errors_total: 'counter',
  ephemera_cassandra_lwt_total: 'counter',
  ephemera_cassandra_request_bytes_total: 'counter',
  ephemera_cassandra_response_bytes_total: 'counter',
  ephemera_cassandra_pool_open_connections: 'gauge',
  ephemera_cassandra_pool_in_flight_queries: 'gauge',
  ephemera_messages_created_total: 'counter',
  ephemera_messages_consumed_total: 'counter',
  ephemera_messages_archived_total: 'counter',
  ephemera_archiver_swept_total: 'counter',
  ephemera_archiver_lag_seconds: 'gauge',
  ephemera_archiver_last_success_timestamp_seconds: 'gauge',
  ephemera_archiver_runs_total: 'counter',
  ephemera_archiver_run_duration_seconds: 'gauge',
  ephemera_writer_lease_held: 'gauge',
  ephemera_writer_id: 'gauge',
  // Node default metrics, prefixed
  ephemera_process_cpu_seconds_total: 'counter',
  ephemera_process_start_time_seconds: 'gauge',
  ephemera_process_resident_memory_bytes: 'gauge',
  ephemera_nodejs_eventloop_lag_p99_seconds: 'gauge',
  ephemera_nodejs_heap_size_used_bytes: 'gauge',
  ephemera_nodejs_gc_duration_seconds: 'histogram',
};
const HTTP_BUCKETS = ['0.001', '0.0025', '0.005', '0.01', '0.02', '0.03', '0.05', '0.075', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
// /openapi.json: the contract check in the test helpers fetches it; /docs and its assets are templates too.
const ROUTES = new Set(['/chat', '/chat/:id', '/chats/:username', '/healthz', '/readyz', '/metrics', '/openapi.json', '/docs',
  '/docs/assets/:file', 'unmatched']);

describe('Prometheus metrics at GET /metrics', () => {
  let server: RunningServer;
  let url: string;
  before(async () => { server = await startTestServer(); url = server.url; });
  after(async () => { await server.close(); });

  it('when /metrics is scraped, then every documented metric is exposed with its type, and nothing unprefixed', async () => {
    const m = await scrape(url);
    for (const [name, type] of Object.entries(DOCUMENTED)) {
      assert.equal(m.types.get(name), type, `${name} is a ${type}`);
    }
    for (const name of m.types.keys()) assert.match(name, /^ephemera_/, `${name} carries the ephemera_ prefix`);
    assert.equal(value(m, 'ephemera_writer_lease_held'), 1, 'a ready server holds an id-writer lease');
    assert.ok(value(m, 'ephemera_writer_id') >= 0, 'and exposes its writer slot');
    assert.ok(value(m, 'ephemera_process_start_time_seconds') > 1.6e9);
  });

  it('when a message is created, read by id and listed, then each costs the documented Cassandra round trips', async () => {
    const statements = async () => {
      const m = await scrape(url);
      const counts = new Map<string, number>();
      for (const s of m.samples) {
        if (s.name === 'ephemera_cassandra_query_duration_seconds_count') counts.set(s.labels.statement!, s.value);
      }
      return counts;
    };
    const delta = (a: Map<string, number>, b: Map<string, number>) => Object.fromEntries([...b]
      .filter(([k, v]) => v !== (a.get(k) ?? 0) && !k.startsWith('writer_lease')).map(([k, v]) => [k, v - (a.get(k) ?? 0)]));
    const user = uniqueUser('round-trips');
    const t0 = await statements();
    const id = (await postChat(url, { username: user, text: 'counted', timeout: 600 })).body.id as number;
    const t1 = await statements();
    assert.deepEqual(delta(t0, t1), { insert_message_and_index: 1, insert_message_by_user: 1 }, 'a create: one batch, one write');
    await getJson(`${url}/chat/${id}`);
    const t2 = await statements();
    assert.deepEqual(delta(t1, t2), { select_hot_by_id: 1 }, 'a get of a live message: one read');
    await getJson(`${url}/chats/${user}`);
    const t3 = await statements();
    assert.deepEqual(delta(t2, t3), { select_cursor: 1, select_pending: 1, cursor_create: 1, mark_consumed: 1 },
      'a list delivering one message: cursor read, page read, one LWT, one batch');
    await getJson(`${url}/chat/${id}`);
    assert.deepEqual(delta(t3, await statements()), { select_hot_by_id: 1 }, 'a get of a consumed message: still one read');
  });

  it('when a list claims its page, then its one LWT and the bytes of every statement are counted by statement name', async () => {
    const series = async (name: string) => {
      const m = await scrape(url);
      return new Map(m.samples.filter((s) => s.name === name).map((s) => [s.labels.statement!, s.value]));
    };
    const user = uniqueUser('bytes');
    await postChat(url, { username: user, text: 'x'.repeat(1000), timeout: 600 });
    const snapshot = async () => ({ lwt: await series('ephemera_cassandra_lwt_total'),
      sent: await series('ephemera_cassandra_request_bytes_total'), got: await series('ephemera_cassandra_response_bytes_total') });
    const { lwt: lwt0, sent: sent0, got: got0 } = await snapshot();
    assert.equal((await getJson<unknown[]>(`${url}/chats/${user}`)).body.length, 1);
    const { lwt: lwt1, sent: sent1, got: got1 } = await snapshot();
    const d = (a: Map<string, number>, b: Map<string, number>, k: string) => (b.get(k) ?? 0) - (a.get(k) ?? 0);
    assert.equal(d(lwt0, lwt1, 'cursor_create'), 1, 'the first claim of a user is one conditional insert');
    assert.equal(d(lwt0, lwt1, 'select_pending'), 0, 'a read is no LWT');
    // The page carries the 1,000-byte text back; the cold copy (in the mark_consumed batch) carries it out again.
    assert.ok(d(got0, got1, 'select_pending') > 1000, `select_pending received ${d(got0, got1, 'select_pending')} bytes`);
    assert.ok(d(sent0, sent1, 'mark_consumed') > 1000, `mark_consumed sent ${d(sent0, sent1, 'mark_consumed')} bytes`);
    assert.ok(d(sent0, sent1, 'select_cursor') > 0 && d(got0, got1, 'select_cursor') > 0);
  });

  it('when requests are served, then RED metrics count them by route template, method and status with the documented buckets', async () => {
    const before = await scrape(url);
    const user = uniqueUser();
    const created = await postChat(url, { username: user, text: 'counted', timeout: 600 });
    assert.equal(created.status, 201);
    assert.equal((await getJson(`${url}/chat/${created.body.id}`)).status, 200);
    assert.equal((await getJson<unknown[]>(`${url}/chats/${user}`)).body.length, 1);
    assert.equal((await postChat(url, { username: user })).status, 400);
    const m = await scrape(url);

    const delta = (labels: Record<string, string>) =>
      value(m, 'ephemera_http_requests_total', labels) - value(before, 'ephemera_http_requests_total', labels);
    assert.equal(delta({ route: '/chat', method: 'POST', status: '201' }), 1);
    assert.equal(delta({ route: '/chat', method: 'POST', status: '400' }), 1);
    assert.equal(delta({ route: '/chat/:id', method: 'GET', status: '200' }), 1);
    assert.equal(delta({ route: '/chats/:username', method: 'GET', status: '200' }), 1);
    assert.equal(value(m, 'ephemera_messages_created_total') - value(before, 'ephemera_messages_created_total'), 1);
    assert.equal(value(m, 'ephemera_messages_consumed_total') - value(before, 'ephemera_messages_consumed_total'), 1);

    const buckets = m.samples.filter((s) => s.name === 'ephemera_http_request_duration_seconds_bucket'
      && s.labels.route === '/chat' && s.labels.method === 'POST' && s.labels.status === '201').map((s) => s.labels.le);
    assert.deepEqual(buckets, HTTP_BUCKETS);
    assert.ok(value(m, 'ephemera_http_request_duration_seconds_count', { route: '/chat/:id' }) >= 1);
    // the scrape itself is in flight while it is rendered
    assert.ok(value(m, 'ephemera_http_requests_in_flight') >= 1);

    // per-statement Cassandra latency, named statements only
    const statements = new Set(m.samples.filter((s) => s.name === 'ephemera_cassandra_query_duration_seconds_count')
      .map((s) => s.labels.statement!));
    assert.ok(statements.size >= 2, `statements seen: ${[...statements].join(', ')}`);
    for (const s of statements) assert.match(s, /^[a-z][a-z0-9_]*$/, 'statement labels are names, not CQL');

    server.db.samplePool();
    const pooled = await scrape(url);
    assert.ok(value(pooled, 'ephemera_cassandra_pool_open_connections') >= 1, 'the driver pool has open connections');
  });

  it('when 200 distinct ids and usernames and unknown paths are requested, then route labels stay templates and the series count stays bounded', async () => {
    const raw: string[] = [];
    const burst = async (n: number) => {
      const tasks: Array<() => Promise<unknown>> = [];
      for (let i = 0; i < n; i++) {
        const id = String(randomInt(1, 2 ** 47));
        const user = uniqueUser('card');
        raw.push(id, user);
        tasks.push(() => getJson(`${url}/chat/${id}`)); // 404: unknown id
        tasks.push(() => getJson(`${url}/chats/${encodeURIComponent(user)}`)); // 200 []
        if (i % 4 === 0) tasks.push(() => postChat(url, { username: user, text: 'card', timeout: 1 }));
        tasks.push(() => getJson(`${url}/chat/x${id}`)); // 400: not an id
        tasks.push(() => getJson(`${url}/no/such/${user}`)); // 404 unmatched
        tasks.push(() => getJson(`${url}/chat/${id}/${user}`)); // 404 unmatched
        tasks.push(() => fetch(`${url}/chat/${id}`, { method: 'DELETE' }).then((r) => r.arrayBuffer())); // 405
      }
      await pool(tasks);
    };

    await burst(200);
    const first = await scrape(url);
    await burst(50);
    const second = await scrape(url);

    const routes = new Set(second.samples.filter((s) => s.labels.route !== undefined).map((s) => s.labels.route!));
    for (const r of routes) assert.ok(ROUTES.has(r), `route label "${r}" is a template`);
    for (const r of ['/chat', '/chat/:id', '/chats/:username', 'unmatched']) assert.ok(routes.has(r), `route ${r} is counted`);

    for (const token of raw) {
      assert.ok(!second.text.includes(token), `raw id or username ${token} appears nowhere in the metrics`);
    }

    const series = seriesKeys(second, 'ephemera_http_requests_total');
    assert.ok(series.size <= 40, `ephemera_http_requests_total has ${series.size} series`);
    assert.deepEqual([...series].sort(), [...seriesKeys(first, 'ephemera_http_requests_total')].sort(),
      '50 more distinct ids and usernames add no series');
    assert.equal(seriesKeys(second, 'ephemera_http_request_duration_seconds_bucket').size,
      seriesKeys(first, 'ephemera_http_request_duration_seconds_bucket').size);
    assert.ok(second.samples.length < 1500, `${second.samples.length} samples in total`);
    assert.equal(value(second, 'ephemera_http_requests_total', { route: '/chat/:id', method: 'DELETE', status: '405' })
      + value(second, 'ephemera_http_requests_total', { route: 'unmatched', method: 'DELETE', status: '405' }), 250,
      'unsupported methods are counted (as their template or unmatched)');
  });
});
