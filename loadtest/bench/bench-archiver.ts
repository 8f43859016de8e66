/**
 * Archiver throughput on this machine.
 *
 * Creates N already-expired messages (the hot rows a POST writes, backdated) in fresh keyspaces, times one
 * archiver run (lock, sweep from the checkpoint, checkpoint writes), then, as a same-run baseline, times N raw
 * cold INSERTs through cassandra-driver with the same number of requests in flight. Both are repeated --rounds
 * times, interleaved (the archiver re-sweeps the same backlog from a reset checkpoint; cold writes are upserts, so
 * every round does the same work), and the medians are printed with the median ratio archiver/raw. The keyspaces
 * are dropped at the end (unless --keep).
 *
 *   npx tsx loadtest/bench/bench-archiver.ts [--messages 20000] [--rounds 3] [--buckets 5] [--concurrency <ARCHIVE_BATCH_CONCURRENCY>] [--keep]
 *
 * Needs the local Cassandra (scripts/dev/cassandra.sh up); connection settings come from the usual environment.
 */
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { Db } from '../../src/storage/cassandra.js';
import { migrate } from '../../src/storage/migrator.js';
import { MessageStore } from '../../src/inbox/message-store.js';
import { EXPIRY_SHARDS } from '../../src/inbox/expiry-index.js';
import { BUCKET_MS, bucketOf } from '../../src/storage/time-buckets.js';
import { firstIdAt } from '../../src/ids/id-layout.js';
import { runArchiver } from '../../src/workers/archiver/run.js';
import { processIdentity } from '../../src/process-identity.js';
import { archiverSettings, cassandraSettings } from '../../src/settings.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    buckets: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const total = Number(values.messages);
const bucketCount = Number(values.buckets);
const rounds = Number(values.rounds);
if ([total, bucketCount, rounds].some((n) => !Number.isInteger(n) || n < 1)) {
  process.stderr.write('usage: bench-archiver.ts [--messages N] [--rounds R] [--buckets B] [--concurrency C] [--keep]\n');
  process.exit(64);
}

const tag = `${Date.now().toString(36)}`;
const config = loadConfig({
  ...process.env,
  CASSANDRA_HOT_KEYSPACE: `ephemera_bench_${tag}_hot`,
  CASSANDRA_COLD_KEYSPACE: `ephemera_bench_${tag}_cold`,
  ARCHIVER_LOCK: 'cassandra',
  LOG_LEVEL: 'info',
  ...(values.concurrency ? { ARCHIVE_BATCH_CONCURRENCY: values.concurrency } : {}),
});
// The archiver's own log lines are kept (the result line carries swept/buckets); everything else is quiet.
const lines: Record<string, unknown>[] = [];
const log = pino({ level: 'info' }, new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
    done();
  },
}));

const db = new Db(cassandraSettings(config), log);
const say = (s: string) => process.stdout.write(`${s}\n`);

/** Runs `task(i)` for i in [0, n) with exactly `width` calls in flight. */
async function pool(n: number, width: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await task(next++);
  }));
}

async function main(): Promise<void> {
  await db.connect();
  await migrate(db, log, processIdentity(config.POD_NAME, 'migrator'));
  const { hot, cold } = db;
  const store = new MessageStore(db);

  // N messages whose timeouts ran out over `bucketCount` minutes ending two minutes ago.
  const lastBucket = bucketOf(Date.now()) - 2;
  const firstBucket = lastBucket - bucketCount + 1;
  const baseId = firstIdAt(firstBucket * BUCKET_MS - 3_600_000);
  let t = Date.now();
  await pool(total, 256, (i) => store.insert({
    id: baseId + i,
    username: `bench-${i % 500}`,
    text: `archiver benchmark message ${i} `.padEnd(100, '.'),
    expiresAt: new Date(firstBucket * BUCKET_MS + Math.floor((i * bucketCount * BUCKET_MS) / total)),
  }, 7200));
  say(`seeded ${total} expired messages over ${bucketCount} buckets in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // Same statement shape as the archiver's cold write, into a table of the same schema.
  await db.client.execute(`CREATE TABLE IF NOT EXISTS ${cold}.messages_raw (
    id bigint PRIMARY KEY, username text, text text, expired_at timestamp, reason text)`, [], { readTimeout: 60_000 });
  const rawCql = `INSERT INTO ${cold}.messages_raw (id, username, text, expired_at, reason) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?`;
  const rawInsert = (i: number, offset: number) => db.client.execute(rawCql, [
    baseId + offset + i, `bench-${i % 500}`, `archiver benchmark message ${i} `.padEnd(100, '.'),
    new Date(firstBucket * BUCKET_MS + i), 'timeout', 2 ** 53 - (firstBucket * BUCKET_MS + i) * 1000,
  ], { prepare: true, consistency: db.consistency });
  // The archiver sweeps the 16 shards of a bucket in parallel, each writing ARCHIVE_BATCH_CONCURRENCY at a time.
  const inFlight = config.ARCHIVE_BATCH_CONCURRENCY * EXPIRY_SHARDS;
  await pool(2000, inFlight, (i) => rawInsert(i, 10_000_000)); // warm-up: connections, prepared statement, JIT

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const archiverRates: number[] = [];
  const rawRates: number[] = [];
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    await db.execute('bench_checkpoint', `UPDATE ${hot}.archiver_state SET swept_until = ? WHERE name = ?`,
      [firstBucket - 1, 'archiver']);
    lines.length = 0;
    t = Date.now();
    const outcome = await runArchiver(db, archiverSettings(config), log);
    const archiverMs = Date.now() - t;
    const done = lines.find((l) => l.msg === 'archiver run done');
    if (outcome !== 'success' || done?.swept !== total) {
      throw new Error(`archiver run ${outcome}, swept ${String(done?.swept)} of ${total}; log: ${JSON.stringify(lines)}`);
    }
    t = Date.now();
    await pool(total, inFlight, (i) => rawInsert(i, 0));
    const rawMs = Date.now() - t;
    const a = total / (archiverMs / 1000);
    const r = total / (rawMs / 1000);
    archiverRates.push(a);
    rawRates.push(r);
    ratios.push(a / r);
    say(`round ${round}: archiver ${total} in ${archiverMs} ms (${String(done.buckets)} buckets) = ${Math.round(a)} msg/s;`
      + ` raw ${total} INSERTs in ${rawMs} ms = ${Math.round(r)} writes/s; ratio ${(a / r).toFixed(2)}`);
  }
  const counted = (await db.client.execute(`SELECT COUNT(*) FROM ${cold}.messages`, [], { readTimeout: 60_000 }))
    .first().get(0) as { toNumber(): number };
  if (counted.toNumber() !== total) throw new Error(`${counted.toNumber()} of ${total} messages in cold`);

  say(`archiver: ${Math.round(median(archiverRates))} messages archived/s (median of ${rounds})`);
  say(`raw cold INSERTs (cassandra-driver, ${inFlight} in flight): ${Math.round(median(rawRates))} writes/s (median of ${rounds})`);
  say(`ratio archiver/raw: ${median(ratios).toFixed(2)} (median of per-round ratios)`);
  say(JSON.stringify({ messages: total, buckets: bucketCount, rounds, concurrencyPerShard: config.ARCHIVE_BATCH_CONCURRENCY,
    inFlight, archiverPerSec: Math.round(median(archiverRates)), rawPerSec: Math.round(median(rawRates)),
    ratio: Number(median(ratios).toFixed(3)) }));
}

try {
  await main();
} finally {
  if (!values.keep) {
    for (const ks of [db.hot, db.cold]) {
      await db.client.execute(`DROP KEYSPACE IF EXISTS ${ks}`, [], { readTimeout: 60_000 }).catch((err: unknown) => {
        process.stderr.write(`could not drop ${ks}: ${(err as Error).message}\n`);
      });
    }
  }
  await db.shutdown();
}
