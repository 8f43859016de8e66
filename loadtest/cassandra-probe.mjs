#!/usr/bin/env node
// Cassandra's own CPU per operation at a fixed rate: prepared single-row reads or writes of messages_by_id,
// issued open-loop through cassandra-driver, with the Cassandra process's CPU time read from /proc.
// Used to tune the local node (timer slack, memtables); see docs/performance.md.
//
//   node loadtest/cassandra-probe.mjs read|write [rate=600] [seconds=15]
//
// Environment: CASSANDRA_CONTACT_POINTS (127.0.0.1:9042), CASSANDRA_HOT_KEYSPACE (ephemera_perf_hot, migrated).
import { readdirSync, readFileSync } from 'node:fs';
import cassandra from 'cassandra-driver';

const [kind = 'read', rateArg = '600', secondsArg = '15'] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
if (!['read', 'write'].includes(kind) || !(rate > 0) || !(seconds > 0)) {
  process.stderr.write('usage: node loadtest/cassandra-probe.mjs read|write [rate] [seconds]\n');
  process.exit(64);
}
const keyspace = process.env.CASSANDRA_HOT_KEYSPACE ?? 'ephemera_perf_hot';
const client = new cassandra.Client({
  contactPoints: (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(','),
  localDataCenter: process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1',
});
await client.connect();

const cassandraPid = readdirSync('/proc').find((p) => {
  try { return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('CassandraDaemon'); } catch { return false; }
});
if (!cassandraPid) throw new Error('no local CassandraDaemon process to measure');
const cpuMs = () => {
  const stat = readFileSync(`/proc/${cassandraPid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};

const { Long } = cassandra.types;
const query = kind === 'read'
  ? `SELECT id, username, text, expires_at FROM ${keyspace}.messages_by_id WHERE id = ?`
  : `INSERT INTO ${keyspace}.messages_by_id (id, username, text, expires_at) VALUES (?, ?, ?, ?) USING TTL 300`;
// 1000 ids far below any real one, so the probe never touches service data.
const params = (n) => (kind === 'read'
  ? [Long.fromNumber(1e12 + (n % 1000))]
  : [Long.fromNumber(1e12 + (n % 1000)), 'probe', 'a probe row of about forty bytes of text', new Date()]);

const latencies = [];
let issued = 0;
let inFlight = 0;
let errors = 0;
const cpu0 = cpuMs();
const started = Date.now();
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) * rate) / 1000);
    for (; issued < due; issued++) {
      const t0 = performance.now();
      inFlight++;
      client.execute(query, params(issued), { prepare: true }).then(
        () => { inFlight--; latencies.push(performance.now() - t0); },
        () => { inFlight--; errors++; },
      );
    }
    if (Date.now() - started >= seconds * 1000) { clearInterval(timer); resolve(); }
  }, 2);
});
while (inFlight > 0) await new Promise((r) => setTimeout(r, 10));
const cpu = cpuMs() - cpu0;
latencies.sort((a, b) => a - b);
const pct = (p) => Number(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]?.toFixed(2));
process.stdout.write(`${JSON.stringify({
  kind, rate, seconds, ops: issued, errors,
  cassandra_cpu_ms_per_op: Number((cpu / issued).toFixed(3)), p50_ms: pct(0.5), p99_ms: pct(0.99),
  timer_slack_ns: Number(readFileSync(`/proc/${cassandraPid}/timerslack_ns`, 'utf8')),
})}\n`);
await client.shutdown();
