/**
 * What the benchmarks measure with: latency percentiles, CPU time of a process tree and the CPU stall of the
 * machine from /proc, and which Cassandra process serves a port. Used by loadtest/bench/bench.ts and
 * loadtest/bench/cassandra-probe.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface Stats { ops: number; errors: number; seconds: number; rps: number; ms: Record<string, number> }

export function stats(samples: number[], errors: number, seconds: number): Stats {
  const s = Float64Array.from(samples).sort();
  const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]! : NaN);
  const avg = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  const r = (v: number) => Math.round(v * 100) / 100;
  return {
    ops: samples.length, errors, seconds: r(seconds), rps: r(samples.length / seconds),
    ms: { avg: r(avg), p50: r(q(0.5)), p90: r(q(0.9)), p95: r(q(0.95)), p99: r(q(0.99)), max: r(q(1)) },
  };
}

/** CPU seconds (user + system) of a process and its descendants, from /proc. */
export function cpuSeconds(pid: number): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  const visit = (p: number) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / tick;
      for (const t of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(' ')) visit(Number(k));
      }
    } catch { /* gone */ }
  };
  visit(pid);
  return total;
}

/**
 * The process listening on `port` whose command line contains `match` (several may run on a shared machine):
 * LISTEN socket inode -> pid. With an IPv4 `host`, only a socket bound to that address (or to 0.0.0.0) counts: a
 * private node on 127.0.0.9:9042 and the shared one on 127.0.0.1:9042 share the port.
 */
export function findListenerPid(port: number, host: string | undefined, match: string): number | null {
  const inodes = new Set<string>();
  const hex = (ip: string) => ip.split('.').reverse().map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0')).join('');
  // /proc/net/tcp6 writes an IPv4-mapped address (::ffff:a.b.c.d) as 0000000000000000FFFF0000 + the IPv4 hex.
  const addrs = host && /^\d+\.\d+\.\d+\.\d+$/.test(host)
    ? [hex(host), '00000000', `0000000000000000FFFF0000${hex(host)}`, '0'.repeat(32)] : null;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const l of readFileSync(f, 'utf8').split('\n').slice(1)) {
        const c = l.trim().split(/\s+/);
        const [addr, p] = (c[1] ?? '').split(':');
        if (p !== port.toString(16).toUpperCase().padStart(4, '0') || c[3] !== '0A') continue;
        if (!addrs || addrs.includes(addr!)) inodes.add(c[9]!);
      }
    } catch { /* no such table */ }
  }
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(match)) continue;
      for (const fd of readdirSync(`/proc/${d}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${d}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return Number(d);
      }
    } catch { /* gone or not ours to read */ }
  }
  return null;
}

/** The Cassandra node serving CQL on host:port. */
export const findCassandraPid = (port: number, host?: string) => findListenerPid(port, host, 'CassandraDaemon');

/** The OpenSearch node serving HTTP on host:port (search endpoints cost OpenSearch CPU, measured too). */
const findOpenSearchPid = (port: number, host?: string) => findListenerPid(port, host, 'org.opensearch.bootstrap.OpenSearch');

/** The OpenSearch node behind OPENSEARCH_URL (the service's setting), or null when it is not local. */
export function localOpenSearchPid(url = process.env.OPENSEARCH_URL ?? 'http://127.0.0.1:9200'): number | null {
  const u = new URL(url);
  return findOpenSearchPid(Number(u.port || 9200), u.hostname);
}

/** Microseconds that runnable tasks waited for a CPU (Linux PSI "some"), or null where PSI is off. */
export function cpuStallMicros(): number | null {
  try {
    const m = /^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch { return null; }
}

/**
 * The machine yardstick printed beside every CPU figure: CPU milliseconds of a fixed piece of work of the kind the
 * service does per request (JSON encode/decode of a message list, a SHA-256 of 1 KiB, a regex test), 2,000 times;
 * the median of 3 tries. The same code on the same Node costs more on a slower or busier core (shared caches, SMT
 * siblings, frequency), so CPU ms per request divided by it compares across machines and runs; about 40-50 ms
 * on the 2-core development VM (load average 17). Blocks the event loop for that long.
 */
export function yardstickMs(): number {
  const list = Array.from({ length: 20 }, (_, i) => ({ id: 2 ** 40 + i, text: `message ${i} about the lunch meeting tomorrow` }));
  const kib = Buffer.alloc(1024, 7);
  const tries: number[] = [];
  let sink = 0;
  for (let t = 0; t < 3; t++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < 2000; i++) {
      const back = JSON.parse(JSON.stringify(list)) as typeof list;
      sink += back.length + createHash('sha256').update(kib).digest()[0]! + (/^[\w.-]{1,64}$/.test(back[i % 20]!.text) ? 1 : 0);
    }
    const c = process.cpuUsage(c0);
    tries.push((c.user + c.system) / 1000);
  }
  if (sink < 0) throw new Error('unreachable: keeps the work from being optimised away');
  return Math.round(tries.sort((a, b) => a - b)[1]! * 10) / 10;
}

/**
 * Statements of the background loops (src/ids/writer-lease.ts, src/storage/lwt-lock.ts, src/workers/), never charged
 * to requests; chat_app_page* is also GET /applications (admin), which no benchmark calls.
 */
export const WORKER_STATEMENTS = /^(writer_lease_|lock_|archiver_|chat_app_page|expiry_index_scan|clock_read|log_scan|log_checkpoint_|log_progress_|count_range_write|count_total_write|count_ranges_read|count_chats_range|count_messages_range)/;

/** CQL statements, LWTs and body bytes a service has sent so far (its /metrics), background loops left out. */
export async function statementTotals(baseUrl: string): Promise<Record<'statements' | 'lwt' | 'sent' | 'received', number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const out = { statements: 0, lwt: 0, sent: 0, received: 0 };
  const kinds: Record<string, keyof typeof out> = {
    ephemera_cassandra_query_duration_seconds_count: 'statements', ephemera_cassandra_lwt_total: 'lwt',
    ephemera_cassandra_request_bytes_total: 'sent', ephemera_cassandra_response_bytes_total: 'received',
  };
  for (const m of text.matchAll(/^(ephemera_cassandra_[a-z_]+)\{statement="([^"]+)"\} (\S+)$/gm)) {
    const kind = kinds[m[1]!];
    if (kind && !WORKER_STATEMENTS.test(m[2]!)) out[kind] += Number(m[3]);
  }
  return out;
}
