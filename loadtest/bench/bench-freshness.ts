/**
 * Search freshness end to end (make bench-freshness): from the answer of a create, edit or delete to the first
 * search that reflects it, per kind (p50/p95/p99/max), and the CPU per write of the service and of OpenSearch.
 *
 * The service runs as `make run` has it (dist/cli.js serve --archive-every 30 --counts-every 5 --index-every 1,
 * LOG_LEVEL info, SEARCH_FAST_INDEX as in the environment: on by default, `off` is the change log alone) in a
 * child process, against the local Cassandra and OpenSearch. Open loop: RATE writes/s for DURATION s, 80 % into
 * HOT chats, 20 % into COLD chats (seeded with 50 and 3 messages); per write 60 % creates, 25 % edits and 15 %
 * deletes of a message whose last change was already seen (a write into a chat with nothing to change is a create).
 * A prober asks OpenSearch every PROBE_MS for every change not yet seen, in one query: that token, the run's marker
 * as a wildcard on body_folded (the search endpoint's filter), the pending document ids, no tombstones.
 * A create is seen once its number is there, an edit once its version is, a delete once its number is gone.
 * Freshness = answer of that probe - answer of the write (the probe adds up to PROBE_MS).
 *
 * CPU: /proc of the service process and of the OpenSearch node, over the writes plus 20 s (the change log's
 * walk of the same writes happens 5-20 s later, so both paths are paid for), minus their idle rate measured for
 * 10 s before. The prober's own searches are OpenSearch CPU too (counted, `probes`).
 *
 * --outage S (optional): the service reaches OpenSearch through a TCP proxy in this process, which is stopped
 * S seconds after the start for S seconds. Two things are reported separately:
 * - the backlog: the writes answered during the outage, plus those still unseen when it began (their bulk failed
 *   with it); when they were seen, counted from the proxy's return (p50/p90/p99/max; max = drain time);
 * - new writes: the writes answered after the return, by second of their answer since the return (n, p50, p99,
 *   max freshness), and `fresh_again_s`: the first second from which five seconds in a row had p99 within the
 *   goal (2 s), i.e. how long new writes waited behind the outage. The backlog is probed once a second, all its
 *   chunks of 1,000 at once, and every round (200 ms) once at most 1,000 of it are left, so the drain's end is
 *   known to a round; the other changes every 200 ms. Their samples stay out of the per-kind figures,
 *   which cover the writes before the outage and those from `fresh_again_s` on.
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { openSync } from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Db } from '../../src/storage/cassandra.js';
import { migrate } from '../../src/storage/migrator.js';
import { dropSearchIndices } from '../../src/search/migrate-search.js';
import { createSearch } from '../../src/search/search.js';
import { cassandraSettings, searchSettings } from '../../src/settings.js';
import { containsPattern, foldText } from '../../src/search/fold.js';
import { messagesAlias } from '../../src/search/index-schema.js';
import { cpuSeconds, localOpenSearchPid, stats } from './measure.js';
import { tcpProxy } from './tcp-proxy.js';
import { sleep } from '../../src/async.js';
import { freePort } from './free-port.js';
import { processIdentity } from '../../src/process-identity.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RATE = arg('rate', 50);
const DURATION = arg('duration', 30);
const HOT = arg('hot', 4);
const COLD = arg('cold', 200);
const OUTAGE = arg('outage', 0);
/** --refresh-ms N: the index refreshes every N ms (OPENSEARCH_REFRESH_INTERVAL_MS; 0 = the configured default). */
const REFRESH_MS = arg('refresh-ms', 0);
const PROBE_MS = 200;
const BACKLOG_PROBE_MS = 1_000;
const TAIL_S = 20;
/** The goal: p99 within 2 s of the write's answer. */
const GOAL_MS = 2_000;
const IDLE_S = 10;
const ROOT = path.resolve(import.meta.dirname, '../..');

// The service's migration (its indexer runs one) sets the interval too: both take it from the environment.
if (REFRESH_MS > 0) process.env.OPENSEARCH_REFRESH_INTERVAL_MS = String(REFRESH_MS);
process.env.CASSANDRA_HOT_KEYSPACE ??= 'ephemera_perf_hot';
process.env.CASSANDRA_COLD_KEYSPACE ??= 'ephemera_perf_cold';
const prefix = `bench_fresh_${randomUUID().slice(0, 8)}`;
// The bench's own client (migration, probes, cleanup) waits up to 30 s: on the loaded machine creating an index
// took over 2 s. The service keeps the environment's timeouts.
const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', OPENSEARCH_INDEX_PREFIX: prefix, LOG_LEVEL: 'warn',
  OPENSEARCH_REQUEST_TIMEOUT_MS: '30000' });
const log = createLogger('warn', 'bench-freshness');

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
/** node:http with keep-alive: at 500 writes/s fetch would cost this process half a core. */
function request(port: number, method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, agent,
      headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) as Record<string, unknown> : {} });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}


async function startService(port: number, openSearchUrl: string): Promise<ChildProcess> {
  const out = openSync('/dev/null', 'w');
  const child = spawn(process.execPath, ['dist/cli.js', 'serve', '--archive-every', '30', '--counts-every', '5', '--index-every', '1'], {
    cwd: ROOT, stdio: ['ignore', out, 'inherit'],
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', OPENSEARCH_INDEX_PREFIX: prefix, OPENSEARCH_URL: openSearchUrl,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
  });
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`service exited (${child.exitCode}) during start-up`);
    try { if ((await request(port, 'GET', '/readyz')).status === 200) return child; } catch { /* not yet */ }
    await sleep(250);
  }
  throw new Error('service not ready after 60 s');
}

type Kind = 'create' | 'edit' | 'delete';
const KINDS: Kind[] = ['create', 'edit', 'delete'];
/** `at` -1: a seed (not measured); `outage`: written while OpenSearch was away, or unseen when it went (the backlog). */
interface Pending { kind: Kind; version: number; at: number; outage?: boolean }
interface ChatState { chat: number; hot: boolean; settled: number[]; versions: Map<number, number>; pending: Map<number, Pending> }

async function main() {
  const db = new Db(cassandraSettings(config), log);
  await db.connect();
  await migrate(db, log, processIdentity(config.POD_NAME, 'migrator'));
  await db.shutdown();
  const search = createSearch(searchSettings(config), log);
  await search.migrate();
  const proxy = tcpProxy(new URL(config.OPENSEARCH_URL));
  if (OUTAGE > 0) await proxy.start();
  const port = await freePort();
  const service = await startService(port, OUTAGE > 0 ? `http://127.0.0.1:${proxy.port}` : config.OPENSEARCH_URL);
  const osPid = localOpenSearchPid(config.OPENSEARCH_URL);
  const marker = `zq${randomUUID().slice(0, 6)}`;
  const wildcard = { wildcard: { body_folded: { value: containsPattern(foldText(marker)) } } };
  let serial = 0;
  let probing = true;
  const bodyOf = (kind: string) => `${marker} t${serial++}x ${kind}`;
  try {
    const token = (await request(port, 'POST', '/applications', { name: 'freshness' })).json.token as string;
    const chats: ChatState[] = [];
    for (let i = 0; i < HOT + COLD; i++) {
      const chat = (await request(port, 'POST', `/applications/${token}/chats`, {})).json.number as number;
      chats.push({ chat, hot: i < HOT, settled: [], versions: new Map(), pending: new Map() });
    }
    const samples: Record<Kind, number[]> = { create: [], edit: [], delete: [] };
    const errors: Record<Kind, number> = { create: 0, edit: 0, delete: 0 };
    let probes = 0;
    const probeMs: number[] = [];
    const outage = { writes: 0, unseenAtStart: 0, seen: 0, back: 0, seenAt: [] as number[] };
    /** Writes answered after the return: [answer - return, freshness] in ms (their samples are kept apart). */
    const afterReturn: Array<[number, number, number]> = [];
    const timeline: string[] = [];

    // One query per round for every pending change of every chat (by document id, in chunks of 1,000): one query
    // per chat swamped OpenSearch once the change log's 15 s of pending changes spread over 200 chats.
    const byChat = new Map(chats.map((c) => [c.chat, c]));
    // The backlog of an outage (12,000 changes after 60 s at 200/s) is probed once per BACKLOG_PROBE_MS, after the
    // other pending changes: probing it every round cost OpenSearch 12 queries per 200 ms while it drained.
    let backlogProbed = 0;
    const prober = (async () => {
      while (probing) {
        const all = chats.flatMap((c) => [...c.pending.entries()].map(([n, p]) => ({ c, n, p })));
        const fresh = all.filter((x) => !x.p.outage);
        const unseen = all.filter((x) => x.p.outage);
        // Its last chunk goes every round: the drain's end is then known to a round (~200 ms), not to a second.
        const withBacklog = performance.now() - backlogProbed >= BACKLOG_PROBE_MS || (unseen.length > 0 && unseen.length <= 1000);
        if (withBacklog) backlogProbed = performance.now();
        const backlog = withBacklog ? unseen : [];
        const chunks: Array<typeof all> = [];
        for (let i = 0; i < fresh.length; i += 1000) chunks.push(fresh.slice(i, i + 1000));
        // The backlog's chunks go out together: one after the other, 12 of them took 2-7 s per sweep on the loaded
        // machine, so the last backlog changes were "seen" up to a sweep after they were searchable.
        const backlogChunks: Array<typeof all> = [];
        for (let i = 0; i < backlog.length; i += 1000) backlogChunks.push(backlog.slice(i, i + 1000));
        const probe = async (chunk: typeof all) => {
          probes++;
          const asked = performance.now();
          const res = await search.client.request<{ hits: { hits: Array<{ _source: { chat: number; number: number; version: number } }> } }>(
            'search', 'POST', `/${messagesAlias(prefix)}/_search`, {
              size: chunk.length, _source: ['chat', 'number', 'version'],
              query: { bool: { filter: [{ term: { token } }, { ids: { values: chunk.map(({ c, n }) => `${token}:${c.chat}:${n}`) } }, wildcard],
                must_not: [{ term: { deleted: true } }] } },
            }, { timeoutMs: 10_000 }).catch(() => null);
          if (!res) return;
          const now = performance.now();
          probeMs.push(now - asked);
          const found = new Map(res.body.hits.hits.map((h) => [`${h._source.chat}:${h._source.number}`, h._source.version]));
          for (const { c, n } of chunk) {
            const p = byChat.get(c.chat)!.pending.get(n);
            if (!p) continue;
            const v = found.get(`${c.chat}:${n}`);
            const seen = p.kind === 'delete' ? v === undefined : v !== undefined && v >= p.version;
            if (!seen) continue;
            c.pending.delete(n);
            if (p.outage) { outage.seen++; outage.seenAt.push(now); } else if (p.at >= 0 && outage.back > 0 && p.at >= outage.back) {
              afterReturn.push([p.at - outage.back, now - p.at, KINDS.indexOf(p.kind)]);
            } else if (p.at >= 0) samples[p.kind].push(now - p.at);
            if (p.kind !== 'delete') { c.versions.set(n, v!); c.settled.push(n); }
          }
        };
        for (const chunk of chunks) await probe(chunk);
        await Promise.all(backlogChunks.map(probe));
        await sleep(PROBE_MS);
      }
    })();

    const create = async (c: ChatState) => {
      const r = await request(port, 'POST', `/applications/${token}/chats/${c.chat}/messages`, { body: bodyOf('new') });
      if (r.status !== 201) throw new Error(`create ${r.status}`);
      return r.json.number as number;
    };
    // Seeds, before the clock: 50 per hot chat, 3 per cold one; their samples are not kept (at = -1 marks them).
    await Promise.all(Array.from({ length: 8 }, async (_, w) => {
      for (let i = w; i < chats.length; i += 8) {
        const c = chats[i]!;
        for (let k = 0; k < (c.hot ? 50 : 3); k++) c.pending.set(await create(c), { kind: 'create', version: 1, at: -1 });
      }
    }));
    const seedStart = performance.now();
    while (chats.some((c) => c.pending.size > 0) && performance.now() - seedStart < 120_000) await sleep(200);
    for (const s of Object.values(samples)) s.length = 0;
    const idle0 = { svc: cpuSeconds(service.pid!), os: osPid ? cpuSeconds(osPid) : NaN, t: performance.now() };
    await sleep(IDLE_S * 1000);
    const idle1 = { svc: cpuSeconds(service.pid!), os: osPid ? cpuSeconds(osPid) : NaN, t: performance.now() };
    const idleRate = { svc: (idle1.svc - idle0.svc) / ((idle1.t - idle0.t) / 1000), os: (idle1.os - idle0.os) / ((idle1.t - idle0.t) / 1000) };

    // A write answered while OpenSearch is away joins the backlog too, even if it was sent before (it was in flight).
    let started = 0;
    const outageOn = () => OUTAGE > 0 && started > 0 && performance.now() - started >= OUTAGE * 1000 && outage.back === 0;
    const write = async (c: ChatState, kind: Kind, during: boolean) => {
      const target = kind === 'create' ? undefined : c.settled.shift();
      if (target === undefined) kind = 'create';
      try {
        if (kind === 'create') {
          const n = await create(c);
          c.pending.set(n, { kind, version: 1, at: performance.now(), outage: during || outageOn() });
        } else if (kind === 'edit') {
          const r = await request(port, 'PUT', `/applications/${token}/chats/${c.chat}/messages/${target}`, { body: bodyOf('edit') });
          if (r.status !== 200) throw new Error(`edit ${r.status}`);
          c.pending.set(target!, { kind, version: r.json.version as number, at: performance.now(), outage: during || outageOn() });
        } else {
          const r = await request(port, 'DELETE', `/applications/${token}/chats/${c.chat}/messages/${target}`);
          if (r.status !== 204) throw new Error(`delete ${r.status}`);
          c.pending.set(target!, { kind, version: c.versions.get(target!)! + 1, at: performance.now(), outage: during || outageOn() });
        }
      } catch {
        errors[kind]++;
      }
    };

    const cpu0 = { svc: cpuSeconds(service.pid!), os: osPid ? cpuSeconds(osPid) : NaN, probes, t: performance.now() };
    const load0 = os.loadavg();
    started = performance.now();
    const total = RATE * DURATION;
    let sent = 0;
    const inFlight: Promise<void>[] = [];
    if (OUTAGE > 0) {
      void (async () => {
        await sleep(OUTAGE * 1000);
        // What was still unseen when OpenSearch went away waits for its return like the outage's own writes.
        for (const c of chats) for (const p of c.pending.values()) if (p.at >= 0 && !p.outage) { p.outage = true; outage.unseenAtStart++; }
        await proxy.stop();
        await sleep(OUTAGE * 1000);
        await proxy.start();
        outage.back = performance.now();
        // Where the catch-up's time goes: the service's own account every 500 ms for 20 s after the return.
        for (let t = 0; t < 40; t++) {
          timeline.push(await catchUpSample(port, performance.now() - outage.back, outage.seen));
          await sleep(Math.max(0, outage.back + (t + 1) * 500 - performance.now()));
        }
      })();
    }

    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
        for (; sent < due; sent++) {
          const pool = Math.random() < 0.8 ? chats.slice(0, HOT) : chats.slice(HOT);
          const c = pool[Math.floor(Math.random() * pool.length)]!;
          const x = Math.random();
          const during = outageOn();
          if (during) outage.writes++;
          inFlight.push(write(c, x < 0.6 ? 'create' : x < 0.85 ? 'edit' : 'delete', during));
        }
        if (sent >= total) { clearInterval(timer); resolve(); }
      }, 10);
    });
    await Promise.all(inFlight);
    const writeSeconds = (performance.now() - started) / 1000;
    const drainStart = performance.now();
    while (chats.some((c) => c.pending.size > 0) && performance.now() - drainStart < 120_000) await sleep(100);
    await sleep(Math.max(0, started + (writeSeconds + TAIL_S) * 1000 - performance.now()));
    const cpu1 = { svc: cpuSeconds(service.pid!), os: osPid ? cpuSeconds(osPid) : NaN, probes, t: performance.now() };
    const window = (cpu1.t - cpu0.t) / 1000;
    // The service's own account of its fast path: changes by result, and the mean hand-over -> bulk acknowledged.
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
    const fast = Object.fromEntries(text.split('\n')
      .filter((l) => /^ephemera_search_fast_index_(total|delay_seconds_(sum|count))|^ephemera_search_request_duration_seconds_(count|sum)\{operation="bulk"/.test(l))
      .map((l) => [l.slice(0, l.lastIndexOf(' ')).replace(/ephemera_search_(fast_index_|request_duration_seconds_)/, ''), Number(l.slice(l.lastIndexOf(' ') + 1))]));
    const catchUp = OUTAGE > 0 ? { ...outageReport(outage, afterReturn, samples), catch_up_timeline: timeline } : {};
    const writes = Object.values(samples).reduce((a, s) => a + s.length, 0) + afterReturn.length;
    const perWrite = (cpu: number, idle: number) => Math.round(((cpu - idle * window) / writes) * 1e6) / 1e3;
    const r2 = (v: number) => Math.round(v * 100) / 100;
    console.log(JSON.stringify({
      fast_path_setting: process.env.SEARCH_FAST_INDEX ?? 'on', refresh_ms: config.OPENSEARCH_REFRESH_INTERVAL_MS, rate: RATE, duration_s: DURATION, hot_chats: HOT, cold_chats: COLD,
      machine: `${os.cpus().length} cpus, load ${load0.map(r2).join(' ')} -> ${os.loadavg().map(r2).join(' ')}`,
      write_seconds: r2(writeSeconds), errors,
      never_seen: chats.reduce((a, c) => a + c.pending.size, 0), probe_every_ms: PROBE_MS, probes: cpu1.probes - cpu0.probes,
      probe_latency_ms: stats(probeMs, 0, 1).ms,
      fast_path: { ...fast, mean_delay_ms: r2((fast.delay_seconds_sum! / fast.delay_seconds_count!) * 1000) },
      freshness_ms: Object.fromEntries((Object.keys(samples) as Kind[]).map((k) => [k, { n: samples[k].length, ...stats(samples[k], 0, 1).ms }])),
      cpu_ms_per_write: {
        window_s: r2(window), service: perWrite(cpu1.svc - cpu0.svc, idleRate.svc), opensearch: perWrite(cpu1.os - cpu0.os, idleRate.os),
        // Without the idle rate taken off: on a busy machine the 10 s idle sample is noisy (it can exceed the run's).
        gross: { service: perWrite(cpu1.svc - cpu0.svc, 0), opensearch: perWrite(cpu1.os - cpu0.os, 0) },
        idle_cores: { service: r2(idleRate.svc), opensearch: r2(idleRate.os) },
      },
      ...catchUp,
    }, null, 2));
    probing = false;
    await prober;
  } finally {
    probing = false;
    service.kill('SIGTERM');
    await new Promise((r) => service.once('exit', r));
    if (OUTAGE > 0) await proxy.stop().catch(() => undefined);
    await dropSearchIndices(search.client, prefix);
  }
}

/**
 * One line of the catch-up timeline, from the service's /metrics: ms after the return; the fast path's queue and
 * backlog; documents written by the fast path and by the change log (applied minus the fast path's), those the
 * change log skipped as held and those refused as stale (either path); change-log passes by result; backlog
 * changes the bench had seen (probed once a second).
 */
async function catchUpSample(port: number, ms: number, seen: number): Promise<string> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
  const sum = (re: RegExp) => text.split('\n').filter((l) => re.test(l)).reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  const fastWritten = sum(/^ephemera_search_fast_index_total\{result="written"\}/);
  const applied = sum(/^ephemera_search_documents_applied_total\{.*result="written"/);
  return `${Math.round(ms)}ms queue=${sum(/^ephemera_search_fast_index_queue /)} backlog=${sum(/^ephemera_search_fast_index_backlog /)}`
    + ` fast_written=${fastWritten} log_written=${applied - fastWritten} held=${sum(/^ephemera_search_documents_applied_total\{.*result="held"/)}`
    + ` stale=${sum(/^ephemera_search_documents_applied_total\{.*result="stale"/)}`
    + ` passes_ok=${sum(/^ephemera_search_indexer_runs_total\{result="success"/)} passes_unavailable=${sum(/^ephemera_search_indexer_runs_total\{result="unavailable"/)}`
    + ` bench_seen=${seen}`;
}

/**
 * The outage's two numbers: when the backlog was seen (ms after the return; max = drain time), and from which
 * second after the return new writes were fresh again (five 1-second windows in a row with p99 within the goal).
 * Moves the new writes from that second on into the per-kind samples.
 */
function outageReport(outage: { writes: number; unseenAtStart: number; seen: number; back: number; seenAt: number[] },
  afterReturn: Array<[number, number, number]>, samples: Record<Kind, number[]>) {
  const seconds: Array<{ s: number; n: number; p50: number; p99: number; max: number }> = [];
  const last = Math.max(0, ...afterReturn.map(([t]) => Math.floor(t / 1000)));
  for (let s = 0; s <= last; s++) {
    const f = stats(afterReturn.filter(([t]) => Math.floor(t / 1000) === s).map(([, ms]) => ms), 0, 1).ms;
    seconds.push({ s, n: afterReturn.filter(([t]) => Math.floor(t / 1000) === s).length, p50: f.p50!, p99: f.p99!, max: f.max! });
  }
  const within = (w: (typeof seconds)[number]) => w.n === 0 || w.p99 <= GOAL_MS;
  const freshAgain = seconds.findIndex((_, i) => seconds.slice(i, i + 5).every(within));
  for (const [t, ms, k] of afterReturn) if (freshAgain >= 0 && t >= freshAgain * 1000) samples[KINDS[k]!].push(ms);
  const seen = stats(outage.seenAt.map((t) => Math.max(0, t - outage.back)), 0, 1).ms;
  const before = afterReturn.filter(([t]) => freshAgain < 0 || t < freshAgain * 1000).map(([, ms]) => ms);
  return {
    outage: {
      seconds: OUTAGE, writes_during: outage.writes, unseen_when_it_began: outage.unseenAtStart, backlog_seen: outage.seen,
      backlog_seen_ms_after_return: { p50: seen.p50, p90: seen.p90, p99: seen.p99, drained: seen.max },
      new_writes: {
        fresh_again_s: freshAgain < 0 ? null : freshAgain,
        before_fresh_again: { n: before.length, ...stats(before, 0, 1).ms },
        by_second_after_return: seconds.slice(0, 30).map((w) => `${w.s}s n=${w.n} p50=${Math.round(w.p50)} p99=${Math.round(w.p99)} max=${Math.round(w.max)}`),
      },
    },
  };
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
