/**
 * Chat message edits per second on this machine, below HTTP (read + one `UPDATE ... IF version = ? AND
 * lease_token = ?` + one change-log append per edit): spread over many messages (no contention) and all on one
 * message (every edit races the others; without If-Match a lost round re-reads and tries again, so every edit
 * lands on a version of its own). `--concurrency` edits in flight for `--seconds`. Fresh keyspaces, dropped at
 * the end.
 *
 *   npx tsx loadtest/bench/bench-edits.ts [--seconds 8] [--concurrency 32] [--messages 256]
 */
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { Db } from '../../src/storage/cassandra.js';
import { migrate } from '../../src/storage/migrator.js';
import { createChats } from '../../src/chats/module.js';
import { cassandraSettings, chatsSettings } from '../../src/settings.js';
import { NO_CONDITIONS } from '../../src/chats/conditions.js';
import { processIdentity } from '../../src/process-identity.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '32' },
    messages: { type: 'string', default: '256' },
  },
});
const seconds = Number(values.seconds);
const width = Number(values.concurrency);
const spread = Number(values.messages);

const tag = Date.now().toString(36);
const config = loadConfig({
  ...process.env, CASSANDRA_HOT_KEYSPACE: `edits_bench_${tag}_hot`, CASSANDRA_COLD_KEYSPACE: `edits_bench_${tag}_cold`,
  LOG_LEVEL: 'warn',
});
const log = pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() }));
const db = new Db(cassandraSettings(config), log);
await db.connect();
await migrate(db, log, processIdentity(config.POD_NAME, 'migrator'));
const chats = createChats(db, chatsSettings(config), log);
const app = await chats.applications.create('bench');
const chat = (await chats.chats.create(app.token, null)).item.number;
for (let i = 0; i < spread; i += 32) {
  await Promise.all(Array.from({ length: Math.min(32, spread - i) }, () => chats.messages.create(app.token, chat, 'v1')));
}

const kinds = new Map<string, number>();

async function run(pick: () => number): Promise<{ perSecond: number; p50: number; p99: number; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: width }, async () => {
    while (Date.now() < end) {
      const started = performance.now();
      try {
        await chats.editor.edit(app.token, chat, pick(), `edit ${started}`, NO_CONDITIONS);
        latencies.push(performance.now() - started);
      } catch (err) { errors += 1; kinds.set(String((err as { code?: string }).code), (kinds.get(String((err as { code?: string }).code)) ?? 0) + 1); }
    }
  }));
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round(latencies[Math.floor(p * (latencies.length - 1))] ?? 0);
  return { perSecond: Math.round(latencies.length / seconds), p50: q(0.5), p99: q(0.99), errors };
}

const spreadResult = await run(() => 1 + Math.floor(Math.random() * spread));
const hotResult = await run(() => 1);
const final = await chats.messages.get(app.token, chat, 1);
console.log(JSON.stringify({ concurrency: width, seconds, spread: { messages: spread, ...spreadResult },
  oneMessage: { ...hotResult, finalVersion: final.version }, errorKinds: Object.fromEntries(kinds) }, null, 2));
await db.raw(`DROP KEYSPACE IF EXISTS ${config.CASSANDRA_HOT_KEYSPACE}`);
await db.raw(`DROP KEYSPACE IF EXISTS ${config.CASSANDRA_COLD_KEYSPACE}`);
await db.shutdown();
