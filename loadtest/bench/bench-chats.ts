/**
 * Chat message creates per second on this machine: into one hot chat and spread over many chats, with the
 * coalesced numbering (concurrent creates for one chat share one counter LWT) against one LWT per create.
 *
 * Each create is the full service path below HTTP: resolve the chat, claim a number (counter LWT), write the row
 * (INSERT IF NOT EXISTS), append the change entry. `--concurrency` creates are kept in flight for `--seconds`;
 * scenarios are interleaved over `--rounds` and the medians printed, with counter writes per create. Fresh
 * keyspaces, dropped at the end (unless --keep).
 *
 *   npx tsx loadtest/bench/bench-chats.ts [--seconds 10] [--rounds 2] [--concurrency 64] [--chats 64] [--keep]
 */
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { Db } from '../../src/storage/cassandra.js';
import { migrate } from '../../src/storage/migrator.js';
import { createChats } from '../../src/chats/module.js';
import { cassandraSettings, chatsSettings } from '../../src/settings.js';
import { numberingCas } from '../../src/observability/chat-metrics.js';
import { processIdentity } from '../../src/process-identity.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '64' },
    chats: { type: 'string', default: '64' },
    keep: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const width = Number(values.concurrency);
const spreadChats = Number(values.chats);

const tag = Date.now().toString(36);
const config = loadConfig({
  ...process.env, CASSANDRA_HOT_KEYSPACE: `chats_bench_${tag}_hot`, CASSANDRA_COLD_KEYSPACE: `chats_bench_${tag}_cold`,
  LOG_LEVEL: 'warn',
});
const log = pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() }));
const db = new Db(cassandraSettings(config), log);
await db.connect();
await migrate(db, log, processIdentity(config.POD_NAME, 'migrator'));

async function casCounts(): Promise<{ applied: number; lost: number }> {
  const m = await numberingCas.get();
  const v = (r: string) => m.values.find((x) => x.labels.result === r)?.value ?? 0;
  return { applied: v('applied'), lost: v('not_applied') + v('unknown') };
}

const errorKinds = new Map<string, number>();

interface Result { perSecond: number; p50: number; p99: number; casPerCreate: number; lostPerCreate: number; errors: number }

/** `processes` > 1: that many independent service instances (own allocators) sharing this process's event loop. */
async function run(coalesce: boolean, chatsInPlay: number, processes = 1): Promise<Result> {
  const instances = Array.from({ length: processes }, () =>
    createChats(db, { ...chatsSettings(config), coalesceNumbering: coalesce }, log));
  const chats = instances[0]!;
  const app = await chats.applications.create('bench');
  const numbers: number[] = [];
  for (let i = 0; i < chatsInPlay; i++) numbers.push((await chats.chats.create(app.token, null)).item.number);
  const before = await casCounts();
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: width }, async (_, w) => {
    while (Date.now() < end) {
      const started = performance.now();
      try {
        await instances[w % processes]!.messages.create(app.token, numbers[w % numbers.length]!, `bench message from creator ${w}`);
        latencies.push(performance.now() - started);
      } catch (err) {
        errors += 1;
        const code = `${(err as { code?: string }).code ?? ""}: ${(err as Error).message}`;
        errorKinds.set(code, (errorKinds.get(code) ?? 0) + 1);
      }
    }
  }));
  const after = await casCounts();
  latencies.sort((a, b) => a - b);
  const n = latencies.length;
  return {
    perSecond: n / seconds, p50: latencies[Math.floor(n * 0.5)] ?? 0, p99: latencies[Math.floor(n * 0.99)] ?? 0,
    casPerCreate: (after.applied - before.applied) / n, lostPerCreate: (after.lost - before.lost) / n, errors,
  };
}

const scenarios = [
  { name: 'one hot chat, coalesced', coalesce: true, chats: 1 },
  { name: 'one hot chat, one LWT per create', coalesce: false, chats: 1 },
  { name: 'one hot chat, 2 allocators in one process, coalesced', coalesce: true, chats: 1, processes: 2 },
  { name: `${spreadChats} chats, coalesced`, coalesce: true, chats: spreadChats },
  { name: `${spreadChats} chats, one LWT per create`, coalesce: false, chats: spreadChats },
];
const results = new Map<string, Result[]>(scenarios.map((s) => [s.name, []]));
for (let r = 0; r < rounds; r++) {
  for (const s of scenarios) {
    const res = await run(s.coalesce, s.chats, s.processes);
    results.get(s.name)!.push(res);
    process.stdout.write(`round ${r + 1} ${s.name}: ${res.perSecond.toFixed(0)}/s p50 ${res.p50.toFixed(1)} ms p99 ${res.p99.toFixed(1)} ms, counter LWTs applied/create ${res.casPerCreate.toFixed(3)}, lost races/create ${res.lostPerCreate.toFixed(3)}, errors ${res.errors}\n`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(`\n| scenario (${width} creates in flight, ${seconds} s × ${rounds}) | creates/s | p50 ms | p99 ms | counter LWTs/create | lost races/create | 503s |\n|---|---|---|---|---|---|---|\n`);
for (const s of scenarios) {
  const rs = results.get(s.name)!;
  process.stdout.write(`| ${s.name} | ${median(rs.map((x) => x.perSecond)).toFixed(0)} | ${median(rs.map((x) => x.p50)).toFixed(1)} | ${median(rs.map((x) => x.p99)).toFixed(1)} | ${median(rs.map((x) => x.casPerCreate)).toFixed(3)} | ${median(rs.map((x) => x.lostPerCreate)).toFixed(3)} | ${rs.map((x) => x.errors).join(' / ')} |\n`);
}
if (errorKinds.size > 0) process.stdout.write(`\nerrors by code: ${JSON.stringify(Object.fromEntries(errorKinds))}\n`);
if (!values.keep) {
  for (const ks of [config.CASSANDRA_HOT_KEYSPACE, config.CASSANDRA_COLD_KEYSPACE]) await db.raw(`DROP KEYSPACE IF EXISTS ${ks}`);
}
await db.shutdown();
