/**
 * `make bench-cpu` / `npx tsx loadtest/bench/bench-cpu.ts`: CPU milliseconds per request at a fixed, modest rate
 * (RATE=300 req/s for DURATION=30s, open model, vegeta), per endpoint and per side:
 *
 *   service  `node --import ./dist/observability/instrument.js dist/cli.js serve --archive-every 30
 *            --counts-every 5 --index-every 1` with LOG_LEVEL=info, as `make run` starts it (access log to /dev/null);
 *   bare     loadtest/bench/bench-bare.ts: plain node:http over the same data layer (no Koa, logging or HTTP metrics);
 *   raw      the data layer in this process (MessageService, as loadtest/bench/bench.ts's raw side), same rate;
 *   base     (only with AB_DIST=<dir holding dist/>) the service built from another tree: an A/B of a change.
 *
 * CPU comes from /proc (utime + stime) before and after each run: the measured process, the shared Cassandra
 * (net of its idle rate in the 2 s before; other sessions use it too) and vegeta. On a shared machine latency
 * is noise, CPU per request is not (much): sides run interleaved (ROUNDS times: service, bare, raw, ...) so drift
 * hits all of them, and the report gives the median of the rounds with the load average.
 *
 * Endpoints: the inbox's mix (50/30/20), create, get and list; and on the chat-applications API, into and from
 * ONE hot chat seeded with 600 messages: chat-create (message creates), chat-list (pages of 50) and chat-search
 * (partial-match search on OpenSearch, whose CPU is measured too, net of idle, as `opensearch`).
 *
 * Yardsticks beside every CPU figure, so figures compare across machines and runs: vegeta's own CPU per request
 * (a fixed program doing fixed work per request) and `yardstick_ms`, the CPU of a fixed micro-benchmark run just
 * before each measurement (measure.ts). A Cassandra whose 2 s idle baseline before a run was above 0.05 cores (other
 * clients) makes that run's "net" figure a guess: it is flagged `baseline disturbed`. Before the rounds, IDLE seconds
 * (20; 0: skip) of both services doing nothing measure what the background workers cost at idle: the service as
 * `make run` starts it against the same build without --archive/--counts/--index-every. For the service sides, the
 * CQL statements, LWTs and bytes per request of each run come from the service's own /metrics (seeding excluded).
 *
 * Environment: RATE, DURATION, ROUNDS=1, IDLE=20, WARMUP=40s (raw mix first, not counted; 0: none),
 * ENDPOINTS=mix,create,get,list,chat-create,chat-list,chat-search, SIDES=service,bare,raw (+base),
 * BENCH_CPU_PORT=18085 (bare +1, base +2), CASSANDRA_HOT_KEYSPACE/COLD (default perf_hot/perf_cold),
 * SERVICE_ENV="K=V K=V" (extra variables for the service, e.g. an A/B of a setting), AB_ENV (the same for base),
 * BENCH_NAME. Results: loadtest/results/<BENCH_NAME or bench-cpu-<date>>.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, findCassandraPid, localOpenSearchPid, statementTotals, yardstickMs } from './measure.js';
import { closeRaw, rawRun, type Mix } from './bench-cpu-raw.js';
import { rawChatRun, type ChatKind } from './bench-cpu-raw-chats.js';
import { sleep } from '../../src/async.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = process.env;
env.CASSANDRA_HOT_KEYSPACE ??= 'perf_hot';
env.CASSANDRA_COLD_KEYSPACE ??= 'perf_cold';
const RATE = Number(env.RATE ?? 300);
const DURATION = env.DURATION ?? '30s';
const ROUNDS = Number(env.ROUNDS ?? 1);
const WARMUP = env.WARMUP ?? '40s';
const PORT = Number(env.BENCH_CPU_PORT ?? 18085);
const IDLE = Number(env.IDLE ?? 20);
/** Cassandra cores used in the 2 s before a run above which its "net of idle" figure is not trusted. */
const DISTURBED_IDLE_CORES = 0.05;
const CHAT_ENDPOINTS = ['chat-create', 'chat-list', 'chat-search'];
const ENDPOINTS = (env.ENDPOINTS ?? `mix,create,get,list,${CHAT_ENDPOINTS.join(',')}`).split(',');
const SIDES = (env.SIDES ?? `service,bare,raw${env.AB_DIST ? ',base' : ''}`).split(',');
const NAME = env.BENCH_NAME ?? `bench-cpu-${new Date().toISOString().slice(0, 10)}`;
const MIXES: Record<string, Mix> = {
  mix: { create: 50, get: 30 }, create: { create: 100, get: 0 }, get: { create: 0, get: 100 }, list: { create: 0, get: 0 },
};
const say = (msg: string) => process.stdout.write(`==> bench-cpu: ${msg}\n`);
const kv = (text = '') => Object.fromEntries(text.split(/\s+/).filter(Boolean).map((p) => p.split(/=(.*)/s).slice(0, 2)));
const contact = (env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',')[0]!;
const cassandraPid = findCassandraPid(Number(contact.split(':')[1] ?? 9042), contact.split(':')[0]);
const openSearchPid = localOpenSearchPid();
for (const ep of ENDPOINTS) if (!MIXES[ep] && !CHAT_ENDPOINTS.includes(ep)) throw new Error(`ENDPOINTS: unknown endpoint ${ep}`);
// Searches wait for the seeded messages to be indexed, and only the service side runs the indexer (--index-every).
if (ENDPOINTS.includes('chat-search') && !SIDES.includes('service') && !SIDES.includes('base')) {
  throw new Error('ENDPOINTS=chat-search needs SIDES to include service (or base): its indexer makes the seeds searchable');
}

async function ready(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`process on port ${port} exited (${child.exitCode}) during start-up`);
    try { if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return; } catch { /* not yet */ }
    await sleep(250);
  }
  throw new Error(`nothing ready on port ${port} after 60 s`);
}

function start(side: string, port: number, workers = true): ChildProcess {
  const out = openSync('/dev/null', 'w');
  const base = { ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: env.LOG_LEVEL ?? 'info' };
  if (side === 'bare') {
    return spawn(process.execPath, ['--import', 'tsx', 'loadtest/bench/bench-bare.ts'], { cwd: ROOT, env: base, stdio: ['ignore', out, 'inherit'] });
  }
  const dir = side === 'base' ? path.resolve(env.AB_DIST!) : ROOT;
  const extra = kv(side === 'base' ? env.AB_ENV : env.SERVICE_ENV);
  return spawn(process.execPath, ['--import', './dist/observability/instrument.js', 'dist/cli.js', 'serve',
    ...(workers ? ['--archive-every', '30', '--counts-every', '5', '--index-every', '1'] : [])],
  { cwd: dir, env: { ...base, ...extra }, stdio: ['ignore', out, 'inherit'] });
}

/**
 * One vegeta run (loadtest/vegeta/attack.ts) against `port`, CPU of `pid` measured by it. Asynchronous: the raw
 * side's id-writer lease in this process must keep renewing meanwhile.
 */
async function attack(port: number, pid: number, endpoint: string, file: string): Promise<Record<string, unknown>> {
  const mix = MIXES[endpoint] ?? MIXES.mix!;
  const child = spawn(process.execPath, ['--import', 'tsx', 'loadtest/vegeta/attack.ts', 'mix'], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...env, BASE_URL: `http://127.0.0.1:${port}`, SERVICE_PID: String(pid), RATE: String(RATE), DURATION,
      PCT_CREATE: String(mix.create), PCT_GET: String(mix.get), SUMMARY_JSON: file, USER_PREFIX: `cpu${Date.now().toString(36)}`,
      TARGETS: MIXES[endpoint] ? 'inbox' : endpoint, SEED_IDS: MIXES[endpoint] ? '300' : '600', P95_MS: '1000', P99_MS: '5000' },
  });
  // The service's statement counters once the seeding is done (attack.ts prints "vegeta attack:" to stderr after
  // it), and at the end.
  const url = `http://127.0.0.1:${port}`;
  let before: ReturnType<typeof statementTotals> | null = null;
  child.stderr!.on('data', (b: Buffer) => {
    process.stderr.write(b);
    if (!before && b.toString().includes('vegeta attack:')) before = statementTotals(url);
  });
  const [status] = await once(child, 'exit') as [number | null];
  if (status !== 0 && status !== 99) throw new Error(`attack.ts exited ${status}`);
  const d = JSON.parse(readFileSync(file, 'utf8')) as { cpu: Record<string, number>; latency_ms: Record<string, number>; rps: number; failed_rate: number; requests: number };
  const [b0, b1] = [await (before ?? Promise.resolve(null)), await statementTotals(url)];
  const per = (k: keyof typeof b1) => (b0 ? Math.round(((b1[k]! - b0[k]!) / d.requests) * 1000) / 1000 : NaN);
  return { process_ms: d.cpu.service_ms_per_req, cassandra_ms: d.cpu.cassandra_net_ms_per_req,
    opensearch_ms: d.cpu.opensearch_net_ms_per_req, vegeta_ms: d.cpu.vegeta_ms_per_req,
    generator_ms: d.cpu.generator_ms_per_req, cassandra_idle_cores: d.cpu.cassandra_idle_cores, rps: d.rps,
    failed_rate: d.failed_rate, p50: d.latency_ms.med!, p99: d.latency_ms['p(99)']!,
    statements: per('statements'), lwt: per('lwt'), bytes_sent: per('sent'), bytes_received: per('received') };
}

/**
 * What the background workers cost at idle: CPU ms per second of the service as `make run` starts it and of the
 * same build without workers, side by side for IDLE seconds, and of Cassandra over the same window (gross).
 */
async function idleCost(withWorkers: ChildProcess): Promise<Record<string, number>> {
  const bare = start('service', PORT + 3, false);
  try {
    await ready(PORT + 3, bare);
    await sleep(3000); // start-up work (migrations check, first lease) out of the window
    const pids = { with_workers: withWorkers.pid!, without_workers: bare.pid!, cassandra: cassandraPid };
    const c0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, p ? cpuSeconds(p) : 0]));
    await sleep(IDLE * 1000);
    return Object.fromEntries(Object.entries(pids).map(([k, p]) =>
      [`${k}_ms_per_s`, p ? Math.round(((cpuSeconds(p) - c0[k]!) * 1000 / IDLE) * 10) / 10 : NaN]));
  } finally {
    bare.kill('SIGTERM');
  }
}

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

async function main(): Promise<void> {
  say(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; `
    + `Cassandra pid ${cassandraPid}, OpenSearch pid ${openSearchPid}; ${RATE} req/s × ${DURATION}, ${ROUNDS} round(s), sides ${SIDES.join(',')}`);
  const mig = spawnSync(process.execPath, ['dist/cli.js', 'migrate'], { cwd: ROOT, env: { ...env, LOG_LEVEL: 'warn' }, stdio: 'inherit' });
  if (mig.status !== 0) throw new Error('migrate failed (build first: npx tsc -p tsconfig.build.json)');
  const ports: Record<string, number> = { service: PORT, bare: PORT + 1, base: PORT + 2 };
  const procs = new Map<string, ChildProcess>();
  const tmp = path.join(os.tmpdir(), `bench-cpu-${process.pid}.json`);
  const runs: Array<Record<string, unknown>> = [];
  let idle: Record<string, number> | null = null;
  try {
    for (const side of SIDES.filter((s) => s !== 'raw')) procs.set(side, start(side, ports[side]!));
    for (const [side, child] of procs) await ready(ports[side]!, child);
    if (IDLE > 0 && procs.has('service')) {
      say(`idle: ${IDLE} s of the service with and without its background workers`);
      idle = await idleCost(procs.get('service')!);
      say(`idle CPU ms per second: ${JSON.stringify(idle)} (workers: ${Math.round((idle.with_workers_ms_per_s! - idle.without_workers_ms_per_s!) * 10) / 10} ms/s)`);
    }
    // A JVM restarted minutes ago still compiles: the first 30 s of the mix cost Cassandra ~2 ms per request
    // instead of ~0.55 (measured on the private node, docs/performance.md round 3). Warm it with the raw side.
    if (WARMUP !== '0') {
      say(`warm-up: raw mix for ${WARMUP} (not counted)`);
      await rawRun(MIXES.mix!, RATE, WARMUP, null);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      for (const ep of ENDPOINTS) {
        for (const side of SIDES) {
          const load1 = os.loadavg()[0]!;
          const yardstick = yardstickMs();
          const r = side !== 'raw' ? await attack(ports[side]!, procs.get(side)!.pid!, ep, tmp)
            : MIXES[ep] ? await rawRun(MIXES[ep], RATE, DURATION, cassandraPid)
              : await rawChatRun(ep as ChatKind, RATE, DURATION, { cassandra: cassandraPid, opensearch: openSearchPid });
          const row = { round, endpoint: ep, side, load1: Math.round(load1 * 100) / 100, yardstick_ms: yardstick, ...r };
          runs.push(row);
          const disturbed = Number(r.cassandra_idle_cores ?? 0) > DISTURBED_IDLE_CORES ? ' (Cassandra baseline disturbed)' : '';
          say(`${ep.padEnd(11)} ${side.padEnd(7)} ${JSON.stringify(r)} load ${row.load1} yardstick ${yardstick} ms${disturbed}`);
        }
      }
    }
  } finally {
    for (const c of procs.values()) c.kill('SIGTERM');
    await closeRaw();
  }
  const summary: Record<string, Record<string, Record<string, number>>> = {};
  for (const ep of ENDPOINTS) {
    summary[ep] = {};
    for (const side of SIDES) {
      const rs = runs.filter((r) => r.endpoint === ep && r.side === side);
      const med = (k: string) => Math.round(median(rs.map((r) => Number(r[k]))) * 1000) / 1000;
      summary[ep][side] = { process_ms: med('process_ms'), cassandra_ms: med('cassandra_ms'),
        ...(CHAT_ENDPOINTS.includes(ep) ? { opensearch_ms: med('opensearch_ms') } : {}), vegeta_ms: med('vegeta_ms'),
        p50: med('p50'), p99: med('p99'), load1: med('load1'), failed_rate: med('failed_rate'), yardstick_ms: med('yardstick_ms'),
        cassandra_idle_cores: med('cassandra_idle_cores'),
        ...(side === 'raw' ? {} : { statements: med('statements'), lwt: med('lwt'), bytes_sent: med('bytes_sent'), bytes_received: med('bytes_received') }) };
    }
  }
  say('medians, CPU ms per request (process = service / bare handler / raw data layer in the bench process):');
  for (const [ep, sides] of Object.entries(summary)) {
    for (const [side, s] of Object.entries(sides)) {
      const server = s.process_ms! + s.cassandra_ms! + (s.opensearch_ms ?? 0);
      say(`  ${ep.padEnd(11)} ${side.padEnd(7)} process ${s.process_ms}  cassandra ${s.cassandra_ms}  `
        + `${s.opensearch_ms === undefined ? '' : `opensearch ${s.opensearch_ms}  `}`
        + `server total ${Math.round(server * 1000) / 1000}  vegeta ${s.vegeta_ms}  yardstick ${s.yardstick_ms} ms  `
        + `p50/p99 ${s.p50}/${s.p99} ms  load ${s.load1}`
        + `${s.statements === undefined ? '' : `  CQL per request: ${s.statements} statements, ${s.lwt} LWT, ${s.bytes_sent}/${s.bytes_received} B`}`
        + `${(s.cassandra_idle_cores ?? 0) > DISTURBED_IDLE_CORES ? `  (Cassandra baseline disturbed: ${s.cassandra_idle_cores} cores idle)` : ''}`);
    }
  }
  mkdirSync(path.join(ROOT, 'loadtest', 'results'), { recursive: true });
  const file = path.join(ROOT, 'loadtest', 'results', `${NAME}.json`);
  writeFileSync(file, JSON.stringify({ when: new Date().toISOString(), rate: RATE, duration: DURATION, rounds: ROUNDS,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model.trim() }, service_env: env.SERVICE_ENV ?? '',
    ab_dist: env.AB_DIST ?? null, ab_env: env.AB_ENV ?? '', idle, summary, runs }, null, 2) + '\n');
  say(`results: ${path.relative(ROOT, file)}`);
}

main().catch((err: unknown) => { process.stderr.write(`bench-cpu: ${(err as Error).stack}\n`); process.exitCode = 1; });
