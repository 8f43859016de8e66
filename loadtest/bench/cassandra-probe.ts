/**
 * Cassandra's own CPU per operation at a fixed rate: prepared single-row reads or writes of messages_by_id, sent
 * open-loop through the service's driver client (src/storage/cassandra.ts), with the CPU time of the Cassandra
 * process serving CASSANDRA_CONTACT_POINTS read from /proc. Used to tune the local node (timer slack); see
 * docs/performance.md.
 *
 *   npx tsx loadtest/bench/cassandra-probe.ts read|write [rate=600] [seconds=15]
 *
 * Configuration is the service's (CASSANDRA_*); the hot keyspace must be migrated. The 1000 ids it uses lie far
 * below any real one, so it never touches service data.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Db } from '../../src/storage/cassandra.js';
import { cpuSeconds, findCassandraPid, stats } from './measure.js';
import { cassandraSettings } from '../../src/settings.js';

const [kind = 'read', rateArg = '600', secondsArg = '15'] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
if (!['read', 'write'].includes(kind) || !(rate > 0) || !(seconds > 0)) {
  process.stderr.write('usage: npx tsx loadtest/bench/cassandra-probe.ts read|write [rate] [seconds]\n');
  process.exit(64);
}
const config = loadConfig();
const port = Number(config.CASSANDRA_CONTACT_POINTS[0]!.split(':')[1] ?? 9042);
const cassandraPid = findCassandraPid(port);
if (!cassandraPid) throw new Error(`no local Cassandra process listens on port ${port}`);
const db = new Db(cassandraSettings(config), createLogger('warn'));
await db.connect();

const op = kind === 'read'
  ? (n: number) => db.execute('probe_read',
    `SELECT id, username, text, expires_at FROM ${db.hot}.messages_by_id WHERE id = ?`, [1e12 + (n % 1000)])
  : (n: number) => db.execute('probe_write',
    `INSERT INTO ${db.hot}.messages_by_id (id, username, text, expires_at) VALUES (?, ?, ?, ?) USING TTL 300`,
    [1e12 + (n % 1000), 'probe', 'a probe row of about forty bytes of text', new Date()]);

const latencies: number[] = [];
const pending: Promise<void>[] = [];
let errors = 0;
const cpu0 = cpuSeconds(cassandraPid);
const started = Date.now();
for (let issued = 0; Date.now() - started < seconds * 1000;) {
  const due = Math.floor(((Date.now() - started) * rate) / 1000);
  for (; issued < due; issued++) {
    const t0 = performance.now();
    pending.push(op(issued).then(() => { latencies.push(performance.now() - t0); }, () => { errors++; }));
  }
  await new Promise((r) => setTimeout(r, 2));
}
await Promise.all(pending);
const cpuMs = (cpuSeconds(cassandraPid) - cpu0) * 1000;
const s = stats(latencies, errors, seconds);
process.stdout.write(`${JSON.stringify({
  kind, rate, seconds, ops: pending.length, errors,
  cassandra_cpu_ms_per_op: Math.round((cpuMs / pending.length) * 1000) / 1000, p50_ms: s.ms.p50, p99_ms: s.ms.p99,
  timer_slack_ns: Number(readFileSync(`/proc/${cassandraPid}/timerslack_ns`, 'utf8')),
})}\n`);
await db.shutdown();
