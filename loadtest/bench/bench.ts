/**
 * `make bench` / `npx tsx loadtest/bench/bench.ts`: one run on this machine that measures
 *
 *   (a) the service: closed-loop maximum throughput per endpoint and for the mix (HTTP keep-alive, CONCURRENCY
 *       requests in flight), then the sustainable open-loop rate of the mix with vegeta at stepped arrival rates
 *       (each step judged by `make loadtest`'s thresholds: < 0.1 % failed, p95 < 25 ms, p99 < 50 ms, the
 *       generator kept the rate);
 *   (b) the raw limit: the same work done by the data layer (src/inbox: MessageService over its stores,
 *       i.e. the same prepared CQL statements through cassandra-driver) in this process, without HTTP, at the
 *       same concurrency.
 *
 * and reports service / raw per endpoint. Raw and service phases alternate per endpoint so slow drift
 * (compaction, JIT, other load on the machine) does not favour one side. Results: loadtest/results/bench-<date>.json.
 *
 * Environment (all optional):
 *   BASE_URL             measure a service already running there (else one is started from dist/ on BENCH_PORT)
 *   BENCH_PORT=18080     port of the service the bench starts
 *   WORKERS=1            >1: start it in cluster mode (serve --workers N; summed metrics on BENCH_PORT+1)
 *   CONCURRENCY=64       requests/operations in flight in the closed-loop phases
 *   OPS=20000            operations per closed-loop phase (create, get, mix; list = OPS/2 users)
 *   STEPS=100,250,500,750,1000,1250,1500,2000   vegeta arrival rates (req/s); STEP_SECONDS=20; SKIP_STEPS=1 to skip
 *   BENCH_NAME           output file name (default bench-<date>[-w<WORKERS>])
 *   CASSANDRA_*          as for the service; keyspaces default to ephemera_perf_hot / ephemera_perf_cold
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Db } from '../../src/storage/cassandra.js';
import { migrate } from '../../src/storage/migrator.js';
import { WriterLease } from '../../src/ids/writer-lease.js';
import { inboxStores } from '../../src/inbox/stores.js';
import { MessageService } from '../../src/inbox/message-service.js';
import { cpuStallMicros, findCassandraPid, type Stats } from './measure.js';
import { closedLoop, httpSide, phase, rawSide, stallShare, type Cpu, type PhaseShape } from './bench-phases.js';
import { sleep } from '../../src/async.js';
import { processIdentity } from '../../src/process-identity.js';
import { cassandraSettings, inboxSettings } from '../../src/settings.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = process.env;
process.env.CASSANDRA_HOT_KEYSPACE ??= 'ephemera_perf_hot';
process.env.CASSANDRA_COLD_KEYSPACE ??= 'ephemera_perf_cold';
const intEnv = (name: string, dflt: number) => {
  const v = Number(env[name] ?? dflt);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer`);
  return v;
};
const PORT = intEnv('BENCH_PORT', 18080);
const WORKERS = intEnv('WORKERS', 1);
const CONCURRENCY = intEnv('CONCURRENCY', 64);
const OPS = intEnv('OPS', 20_000);
const STEPS = (env.STEPS ?? '100,250,500,750,1000,1250,1500,2000').split(',').map(Number).filter((n) => n > 0);
const STEP_SECONDS = intEnv('STEP_SECONDS', 20);
const RUN = Date.now().toString(36);
const today = new Date().toISOString().slice(0, 10);
const NAME = env.BENCH_NAME ?? `bench-${today}${WORKERS > 1 ? `-w${WORKERS}` : ''}`;
const RESULTS = path.join(ROOT, 'loadtest', 'results');

const say = (msg: string) => process.stdout.write(`==> bench: ${msg}\n`);

// ---- the service under test -------------------------------------------------------------------------------

async function waitReady(baseUrl: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${baseUrl}/readyz`)).status === 200) return;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${baseUrl} not ready after ${timeoutMs} ms`);
    await sleep(250);
  }
}

function startService(): ChildProcess {
  const cli = path.join(ROOT, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error('dist/cli.js is missing: build first (npx tsc -p tsconfig.build.json)');
  const args = [cli, 'serve', '--workers', String(WORKERS)];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env, PORT: String(PORT), HOST: '127.0.0.1', LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
      ...(WORKERS > 1 ? { METRICS_PORT: String(PORT + 1) } : {}),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  say(`service: node dist/cli.js ${args.slice(1).join(' ')} on port ${PORT}, pid ${child.pid}`);
  return child;
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

// ---- open-loop steps (vegeta) ------------------------------------------------------------------------------

interface LoadDigest {
  rps: number; send_rate: number; failed_rate: number; passed: boolean; latency_ms: Record<string, number> | null;
  endpoints: Record<string, { rps: number; ms: Record<string, number> }>;
  thresholds: Array<{ name: string; ok: boolean }>; cpu: Record<string, number | null>;
}

/**
 * One step: loadtest/vegeta/attack.ts (the `make loadtest` runner) at `rate` for STEP_SECONDS. It measures the
 * CPU per request of vegeta, its target generator, the service (SERVICE_PID) and Cassandra over the attack.
 */
async function loadStep(baseUrl: string, rate: number, servicePid: number | null) {
  const out = path.join(RESULTS, `${NAME}-vegeta-${rate}rps.json`);
  const stall0 = cpuStallMicros();
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'loadtest/vegeta/attack.ts', 'mix'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env, RATE: String(rate), DURATION: `${STEP_SECONDS}s`, BASE_URL: baseUrl, SUMMARY_JSON: out,
      USER_PREFIX: `bench-${RUN}-v-${rate}`, ...(servicePid ? { SERVICE_PID: String(servicePid) } : {}),
    },
  });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => { text += c.toString(); });
  const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
  const cpuStall = stallShare(stall0, Date.now() - t0);
  if (code !== 0 && code !== 99) {
    process.stdout.write(text);
    throw new Error(`loadtest/vegeta/attack.ts exited ${code}`);
  }
  const d = JSON.parse(readFileSync(out, 'utf8')) as LoadDigest;
  return {
    target_rps: rate, exit_code: code, passed: d.passed, rps: round(d.rps), send_rate: round(d.send_rate),
    failed_rate: d.failed_rate, failed_thresholds: d.thresholds.filter((t) => !t.ok).map((t) => t.name),
    latency_ms: d.latency_ms,
    endpoints: Object.fromEntries(Object.entries(d.endpoints).map(([k, v]) => [k, { rps: round(v.rps), ms: v.ms }])),
    cpu: d.cpu,
    load1: round(os.loadavg()[0]!),
    cpu_stall: cpuStall,
    summary: path.relative(ROOT, out),
  };
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

// ---- main -------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const config = loadConfig(process.env);
  const log = createLogger(env.BENCH_LOG_LEVEL ?? 'warn', 'bench');
  const db = new Db(cassandraSettings(config), log);
  await db.connect();
  await migrate(db, log, processIdentity(config.POD_NAME, 'migrator'));
  const cqlPort = Number(/:(\d+)$/.exec(config.CASSANDRA_CONTACT_POINTS[0] ?? '')?.[1] ?? 9042);
  const cassandraPid = findCassandraPid(cqlPort);
  say(`Cassandra on port ${cqlPort}: ${cassandraPid ? `pid ${cassandraPid}` : 'process not found (its CPU is not reported)'}`);

  const external = env.BASE_URL;
  const child = external ? null : startService();
  const baseUrl = external ?? `http://127.0.0.1:${PORT}`;
  const cleanup = async () => { if (child) await stopService(child); };
  process.once('SIGINT', () => { void cleanup().then(() => process.exit(130)); });
  try {
    await waitReady(baseUrl);
    const servicePid = child?.pid ?? null;

    const lease = new WriterLease(db, log, config.WRITER_LEASE_TTL_MS, config.POD_NAME);
    await lease.start();
    const raw = rawSide(new MessageService(inboxStores(db), lease, inboxSettings(config), log));
    const svc = httpSide(baseUrl, CONCURRENCY);
    const shape: PhaseShape = { ops: OPS, run: RUN, concurrency: CONCURRENCY };

    say(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, `
      + `node ${process.version}, load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
    say(`warm-up: ${Math.min(OPS, 4000)} mixed operations on each side`);
    const warm = { ids: [] as number[] };
    await closedLoop(Math.min(OPS, 4000), (i) => (i % 2 ? raw : svc).create(`bench-${RUN}-warm-${i % 500}`, i).then((id) => {
      if (id !== null) warm.ids.push(id);
      return id !== null;
    }), null, null, CONCURRENCY);

    const closed: Record<string, { raw: unknown; service: unknown; ratio: number }> = {};
    const rawState = { ids: [] as number[] };
    const svcState = { ids: [] as number[] };
    for (const name of ['create', 'get', 'list', 'mix']) {
      const r = await phase('raw', raw, name, servicePid, cassandraPid, rawState, shape);
      say(`raw     ${name.padEnd(6)} ${line(r)}`);
      const s = await phase('svc', svc, name, servicePid, cassandraPid, svcState, shape);
      say(`service ${name.padEnd(6)} ${line(s)}`);
      const entry = { raw: r, service: s, ratio: round(s.rps / r.rps, 3) };
      closed[name] = entry;
      say(`        ${name.padEnd(6)} service / raw = ${(entry.ratio * 100).toFixed(0)} %`);
    }
    await lease.stop();

    const steps: Awaited<ReturnType<typeof loadStep>>[] = [];
    if (env.SKIP_STEPS !== '1') {
      let failures = 0;
      for (const rate of STEPS) {
        say(`vegeta mix at ${rate} req/s for ${STEP_SECONDS}s`);
        const st = await loadStep(baseUrl, rate, servicePid);
        steps.push(st);
        say(`   ${st.passed ? 'PASS' : 'FAIL'} ${st.rps} req/s, p50 ${st.latency_ms?.med} p95 ${st.latency_ms?.['p(95)']} `
          + `p99 ${st.latency_ms?.['p(99)']} ms, failed ${(st.failed_rate * 100).toFixed(3)} %, sent at ${st.send_rate} req/s`
          + `${st.failed_thresholds.length ? ` (failed: ${st.failed_thresholds.join(', ')})` : ''}`
          + `; CPU ms/req: service ${st.cpu.service_ms_per_req} cassandra ${st.cpu.cassandra_net_ms_per_req} (net) `
          + `vegeta ${st.cpu.vegeta_ms_per_req} generator ${st.cpu.generator_ms_per_req}`
          + `; CPU stall ${st.cpu_stall}`);
        failures = st.passed ? 0 : failures + 1;
        if (failures >= 2 || st.rps < rate * 0.8) break;
        await sleep(3000);
      }
    }
    const sustainable = steps.filter((s) => s.passed).reduce((m, s) => Math.max(m, s.target_rps), 0);

    const result = {
      name: NAME, date: new Date().toISOString(), run: RUN,
      machine: {
        cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model.trim(), mem_gib: Math.round(os.totalmem() / 2 ** 30),
        node: process.version, kernel: os.release(), load_at_end: os.loadavg().map((v) => round(v)),
        note: 'cpu_stall = share of wall time some task waited for a CPU (Linux PSI); other work on the machine shows there',
      },
      setup: {
        base_url: baseUrl, started_service: !external, workers: WORKERS, concurrency: CONCURRENCY, ops: OPS,
        steps: STEPS, step_seconds: STEP_SECONDS, keyspaces: [config.CASSANDRA_HOT_KEYSPACE, config.CASSANDRA_COLD_KEYSPACE],
        consistency: config.CASSANDRA_CONSISTENCY,
        command: `npx tsx loadtest/bench/bench.ts${WORKERS > 1 ? ` (WORKERS=${WORKERS})` : ''}`,
      },
      closed_loop: closed,
      load_generator: 'vegeta v12.13.0 (loadtest/vegeta/attack.ts)',
      load_steps: steps,
      sustainable_rps: sustainable,
    };
    const file = path.join(RESULTS, `${NAME}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    say(`sustainable mix rate (all thresholds met): ${sustainable} req/s`);
    say(`service / raw (closed loop, ${CONCURRENCY} in flight): `
      + Object.entries(closed).map(([k, v]) => `${k} ${(v.ratio * 100).toFixed(0)} %`).join(', '));
    say(`results: ${path.relative(ROOT, file)}`);
  } finally {
    await cleanup();
    await db.shutdown();
  }
}

function line(r: Stats & { cpu: Cpu; load1: number; cpu_stall: number | null; delivered?: number }): string {
  return `${r.rps.toFixed(0).padStart(6)} ops/s  p50 ${r.ms.p50} p95 ${r.ms.p95} p99 ${r.ms.p99} ms  errors ${r.errors}`
    + `  CPU ms/op: service ${r.cpu.service_ms_per_op ?? '-'} cassandra ${r.cpu.cassandra_net_ms_per_op ?? '-'} (net of ${r.cpu.cassandra_baseline_cores} cores idle)`
    + ` loadgen ${r.cpu.loadgen_ms_per_op}${r.delivered !== undefined ? `  delivered ${r.delivered}` : ''}  CPU stall ${r.cpu_stall}`;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
