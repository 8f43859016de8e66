/**
 * Search freshness end to end (make bench-freshness): the service and the search indexer (as `make run` has
 * them: `serve --index-every 1`, in one process) against the local Cassandra and OpenSearch; RATE message
 * creates per second for DURATION seconds over CHATS chats of one application (open loop: a create is sent
 * every 1/RATE s whatever the previous did); a prober searches every chat every 250 ms for the run's marker,
 * after the lowest number it has not seen yet. Freshness of a message = first search that returns it - its 201.
 * Its own keyspaces (ephemera_perf_*, as make bench) and index prefix (dropped at the end).
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Db } from '../../src/storage/cassandra.js';
import { migrate } from '../../src/storage/migrator.js';
import { startServer } from '../../src/server.js';
import { dropSearchIndices } from '../../src/search/migrate-search.js';
import { startIndexer } from '../../src/workers/indexer-command.js';
import { createSearch } from '../../src/search/search.js';
import { stats } from './measure.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RATE = arg('rate', 50);
const DURATION = arg('duration', 30);
const CHATS = arg('chats', 10);
const PROBE_MS = 250;

process.env.CASSANDRA_HOT_KEYSPACE ??= 'ephemera_perf_hot';
process.env.CASSANDRA_COLD_KEYSPACE ??= 'ephemera_perf_cold';
const prefix = `bench_fresh_${randomUUID().slice(0, 8)}`;
const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', OPENSEARCH_INDEX_PREFIX: prefix, LOG_LEVEL: 'warn' });
const log = createLogger('warn', 'bench-freshness');

async function post(url: string, path: string, body: unknown): Promise<{ status: number; json: { [k: string]: unknown } }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() as { [k: string]: unknown } };
}

async function main() {
  const db = new Db(config, log);
  await db.connect();
  await migrate(db, log);
  await db.shutdown();
  const search = createSearch(config, log);
  await search.migrate();
  const server = await startServer(config, log);
  const indexer = startIndexer(server.db, config, log, 1, search);
  const marker = `m${randomUUID().slice(0, 8)}`;
  try {
    const token = (await post(server.url, '/applications', { name: 'freshness' })).json.token as string;
    const chats: number[] = [];
    for (let i = 0; i < CHATS; i++) chats.push((await post(server.url, `/applications/${token}/chats`, {})).json.number as number);
    // A fresh consumer starts an hour back: let the indexer walk that history before the clock starts.
    await new Promise((r) => setTimeout(r, 5_000));
    const created = new Map<string, number>(); // chat:number -> 201 time
    const seen = new Map<string, number>(); // chat:number -> first search that returned it
    let errors = 0;
    let sent = 0;
    let creating = true;
    const total = RATE * DURATION;
    const started = performance.now();
    const lowest = new Map(chats.map((c) => [c, 0]));
    const prober = (async () => {
      const deadline = () => performance.now() > started + (DURATION + 120) * 1000;
      while ((creating || seen.size < created.size) && !deadline()) {
        for (const chat of chats) {
          const page = await search.searcher.searchMessages({ token, chat, q: marker, after: lowest.get(chat)!, limit: 1000 })
            .catch(() => ({ messages: [] }));
          const now = performance.now();
          for (const m of page.messages) if (!seen.has(`${chat}:${m.number}`)) seen.set(`${chat}:${m.number}`, now);
          let low = lowest.get(chat)!;
          while (seen.has(`${chat}:${low + 1}`)) low++;
          lowest.set(chat, low);
        }
        await new Promise((r) => setTimeout(r, PROBE_MS));
      }
    })();
    const inFlight: Promise<void>[] = [];
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
        for (; sent < due; sent++) {
          const chat = chats[sent % CHATS]!;
          inFlight.push(post(server.url, `/applications/${token}/chats/${chat}/messages`, { body: `${marker} message ${sent}` })
            .then((r) => {
              if (r.status === 201) created.set(`${chat}:${r.json.number as number}`, performance.now());
              else errors++;
            }, () => { errors++; }));
        }
        if (sent >= total) { clearInterval(timer); resolve(); }
      }, 10);
    });
    await Promise.all(inFlight);
    const createSeconds = (performance.now() - started) / 1000;
    creating = false;
    await prober;
    const samples = [...created].filter(([k]) => seen.has(k)).map(([k, t]) => seen.get(k)! - t);
    const s = stats(samples, errors, createSeconds);
    console.log(JSON.stringify({
      rate: RATE, duration_s: DURATION, chats: CHATS, creates: created.size, create_errors: errors,
      never_seen: created.size - samples.length, probe_ms: PROBE_MS,
      freshness_ms: s.ms,
    }, null, 2));
  } finally {
    await indexer.stop();
    await server.close();
    await dropSearchIndices(search.client, prefix);
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
