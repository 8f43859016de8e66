/**
 * The closed-loop phases of `make bench` (loadtest/bench/bench.ts): one side's operations (the raw data layer in
 * this process, or the HTTP service), run from `concurrency` loops until a count was started, with latency and
 * the CPU each party spent per operation (service, Cassandra net of its idle baseline, this process).
 */
import http from 'node:http';
import os from 'node:os';
import type { MessageService } from '../../src/inbox/message-service.js';
import { cpuSeconds, cpuStallMicros, stats, type Stats } from './measure.js';
import { sleep } from '../../src/async.js';

/** How big a phase is: OPS operations per phase, the run's tag in user names, operations in flight. */
export interface PhaseShape { ops: number; run: string; concurrency: number }

const USERS = 10_000;

/** Share of wall time in which some task was runnable but waiting for a CPU: how contended the machine was. */
export const stallShare = (t0: number | null, ms: number) => {
  const t1 = cpuStallMicros();
  return t0 === null || t1 === null ? null : Math.round(((t1 - t0) / 1000 / ms) * 100) / 100;
};

/**
 * Cassandra's CPU rate (cores) while this bench sends nothing: on a shared machine other clients (test suites)
 * keep it busy too, and that share is subtracted from the per-operation figure.
 */
async function cassandraBaseline(pid: number | null, ms = 2000): Promise<number> {
  if (!pid) return 0;
  const c0 = cpuSeconds(pid);
  await sleep(ms);
  return (cpuSeconds(pid) - c0) / (ms / 1000);
}

export interface Cpu {
  service_ms_per_op: number | null;
  cassandra_ms_per_op: number | null;
  /** The same, less Cassandra's idle-time baseline (other clients) measured just before the phase. */
  cassandra_net_ms_per_op: number | null;
  cassandra_baseline_cores: number | null;
  loadgen_ms_per_op: number;
}

/**
 * Runs `op` from `concurrency` loops until `count` operations were started; latency in ms per operation. Also
 * the CPU each party spent per operation (the machine is shared by all three, so CPU/op is the portable number).
 */
export async function closedLoop(count: number, op: (i: number) => Promise<boolean>, servicePid: number | null,
  cassandraPid: number | null, concurrency: number): Promise<Stats & { cpu: Cpu; load1: number; cpu_stall: number | null }> {
  const samples: number[] = [];
  let errors = 0;
  let next = 0;
  const baseline = await cassandraBaseline(cassandraPid);
  const svc0 = servicePid ? cpuSeconds(servicePid) : 0;
  const cas0 = cassandraPid ? cpuSeconds(cassandraPid) : 0;
  const me0 = process.cpuUsage();
  const stall0 = cpuStallMicros();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      const start = performance.now();
      let ok: boolean;
      try { ok = await op(i); } catch { ok = false; }
      samples.push(performance.now() - start);
      if (!ok) errors++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const me = process.cpuUsage(me0);
  const per = (v: number) => Math.round((v / samples.length) * 1e6) / 1000; // seconds -> ms per op, 3 decimals
  return {
    ...stats(samples, errors, seconds),
    cpu: {
      service_ms_per_op: servicePid ? per(cpuSeconds(servicePid) - svc0) : null,
      cassandra_ms_per_op: cassandraPid ? per(cpuSeconds(cassandraPid) - cas0) : null,
      cassandra_net_ms_per_op: cassandraPid ? per(Math.max(0, cpuSeconds(cassandraPid) - cas0 - baseline * seconds)) : null,
      cassandra_baseline_cores: cassandraPid ? Math.round(baseline * 100) / 100 : null,
      loadgen_ms_per_op: per((me.user + me.system) / 1e6),
    },
    load1: Math.round(os.loadavg()[0]! * 100) / 100,
    cpu_stall: stallShare(stall0, seconds * 1000),
  };
}

// ---- users, texts, Zipf ----------------------------------------------------------------------------------

const zipfCdf = (() => {
  const c = new Float64Array(USERS);
  let acc = 0;
  for (let r = 1; r <= USERS; r++) { acc += 1 / r; c[r - 1] = acc; }
  return c.map((v) => v / acc);
})();
function zipfRank(): number {
  const u = Math.random();
  let lo = 0;
  let hi = USERS - 1;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (zipfCdf[mid]! < u) lo = mid + 1; else hi = mid; }
  return lo + 1;
}
const text = (i: number) => `benchmark message ${i} ${'x'.repeat(20 + (i % 120))}`;

/** The operations of one side (raw data layer or HTTP service), named like the endpoints. */
export interface Side {
  create(user: string, i: number): Promise<number | null>;
  get(id: number): Promise<boolean>;
  list(user: string): Promise<number | null>;
}

export function rawSide(service: MessageService): Side {
  return {
    async create(user, i) { return service.create({ username: user, text: text(i), timeout: 600 }); },
    async get(id) { await service.get(id); return true; },
    async list(user) {
      let n = 0;
      for await (const batch of service.consume(user)) n += batch.length;
      return n;
    },
  };
}

export function httpSide(baseUrl: string, concurrency: number): Side {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(baseUrl);
  const request = (method: string, p: string, body?: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({
      agent, host: url.hostname, port: url.port, method, path: p,
      headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  return {
    async create(user, i) {
      const r = await request('POST', '/chat', JSON.stringify({ username: user, text: text(i), timeout: 600 }));
      return r.status === 201 ? (JSON.parse(r.body) as { id: number }).id : null;
    },
    async get(id) { return (await request('GET', `/chat/${id}`)).status === 200; },
    async list(user) {
      const r = await request('GET', `/chats/${encodeURIComponent(user)}`);
      return r.status === 200 ? (JSON.parse(r.body) as unknown[]).length : null;
    },
  };
}

/**
 * The four closed-loop phases of one side. create: OPS messages, two for each of OPS/2 fresh users; get: OPS
 * reads of those ids; list: each of those users once (each call delivers its two messages: cursor read, page
 * read, LWT cursor create, two cold writes); mix: OPS requests 50/30/20 over Zipf-popular users.
 */
export async function phase(kind: 'raw' | 'svc', side: Side, name: string, servicePid: number | null, cassandraPid: number | null,
  state: { ids: number[] }, shape: PhaseShape) {
  const { ops: OPS, run: RUN, concurrency } = shape;
  const userOf = (i: number) => `bench-${RUN}-${kind}-u${i % (OPS / 2)}`;
  const pid = kind === 'svc' ? servicePid : null;
  let delivered = 0;
  switch (name) {
    case 'create': {
      const ids: number[] = [];
      const r = await closedLoop(OPS, async (i) => {
        const id = await side.create(userOf(i), i);
        if (id !== null) ids.push(id);
        return id !== null;
      }, pid, cassandraPid, concurrency);
      state.ids = ids;
      return r;
    }
    case 'get':
      return closedLoop(OPS, (i) => side.get(state.ids[(i * 7919) % state.ids.length]!), pid, cassandraPid, concurrency);
    case 'list': {
      const r = await closedLoop(OPS / 2, async (i) => {
        const n = await side.list(userOf(i));
        if (n !== null) delivered += n;
        return n !== null;
      }, pid, cassandraPid, concurrency);
      return { ...r, delivered };
    }
    default: {
      const recent: number[] = [];
      const r = await closedLoop(OPS, async (i) => {
        const u = Math.random();
        const user = `bench-${RUN}-${kind}-z${zipfRank()}`;
        if (u < 0.5 || recent.length === 0) {
          const id = await side.create(user, i);
          if (id !== null) { if (recent.length < 1024) recent.push(id); else recent[i % 1024] = id; }
          return id !== null;
        }
        if (u < 0.8) return side.get(recent[Math.floor(Math.random() * recent.length)]!);
        return (await side.list(user)) !== null;
      }, pid, cassandraPid, concurrency);
      return r;
    }
  }
}
