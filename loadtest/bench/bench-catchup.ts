/**
 * Outage catch-up of the search fast path alone (make bench-catchup): how long after OpenSearch's return the
 * changes queued during an outage are all searchable, and how fresh the changes made after the return are
 * meanwhile. The end-to-end figure is bench-freshness.ts --outage 60; this one leaves out the service, Cassandra
 * and the change log, so that on a shared machine (load 10-20) the drain itself can be compared run against run.
 *
 * Per run, on its own index (the configured OpenSearch, reached through a TCP proxy in this process):
 * - SEEDS messages (version 1) are indexed directly, as if they were written before the outage;
 * - the proxy stops and the FastIndexer (createFastIndexer, as the service builds it: SEARCH_FAST_INDEX_QUEUE,
 *   SEARCH_FAST_INDEX_LINGER_MS from the environment) is offered BACKLOG changes, the mix bench-freshness writes
 *   during its outage: 60 % creates (new messages), 25 % edits and 15 % deletes of seeded messages (each once);
 *   the 60 s at 200 writes/s are offered at once (the state the queue is in when OpenSearch returns is the same);
 * - once the queue has seen a bulk fail, the proxy starts again: t = 0. From then on RATE creates/s are offered
 *   for FRESH_S seconds;
 * - `drained_ms`: the first _count (every 100 ms) that finds all BACKLOG changes applied (created, edited to
 *   version 2, or a tombstone at version 2);
 * - new writes: offer -> first search that finds them (probed every 100 ms), p50/p99/max.
 * Usage: npx tsx loadtest/bench/bench-catchup.ts [--runs 5] [--backlog 12000] [--rate 200] [--fresh-s 8]
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createFastIndexer, createSearch } from '../../src/search/search.js';
import { searchSettings } from '../../src/settings.js';
import { dropSearchIndices } from '../../src/search/migrate-search.js';
import { messagesAlias } from '../../src/search/index-schema.js';
import type { ChangeEvent } from '../../src/search/documents.js';
import { sleep } from '../../src/async.js';
import { stats } from './measure.js';
import { tcpProxy } from './tcp-proxy.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg('runs', 5);
const BACKLOG = arg('backlog', 12_000);
const RATE = arg('rate', 200);
const FRESH_S = arg('fresh-s', 8);
const POLL_MS = 100;
/** Seeded messages: enough for the outage's edits (25 %) and deletes (15 %), each of a different one. */
const SEEDS = Math.ceil(BACKLOG * 0.4);
/** Seeds live in chats 1-100, the outage's creates in 101-200, the writes after the return in chat 1,000. */
const CREATE_CHAT0 = 101;
const log = createLogger('warn', 'bench-catchup');
const r2 = (v: number) => Math.round(v * 100) / 100;

async function run(i: number) {
  const prefix = `bench_catchup_${randomUUID().slice(0, 8)}`;
  const base = loadConfig({ ...process.env, OPENSEARCH_INDEX_PREFIX: prefix, LOG_LEVEL: 'warn' });
  const direct = createSearch(searchSettings(loadConfig({ ...process.env, OPENSEARCH_INDEX_PREFIX: prefix,
    LOG_LEVEL: 'warn', OPENSEARCH_REQUEST_TIMEOUT_MS: '30000' })), log);
  await direct.migrate();
  const alias = messagesAlias(prefix);
  const proxy = tcpProxy(new URL(base.OPENSEARCH_URL));
  await proxy.start();
  const settings = searchSettings(loadConfig({ ...process.env, OPENSEARCH_INDEX_PREFIX: prefix, OPENSEARCH_URL: proxy.url, LOG_LEVEL: 'warn' }));
  const fast = createFastIndexer({ ...settings, fastIndex: settings.fastIndex ?? { maxQueue: 20_000, lingerMs: 5 } }, log)!;
  const token = `tok${randomUUID().slice(0, 12)}`;
  const at = new Date();
  try {
    const seeds: ChangeEvent[] = Array.from({ length: SEEDS }, (_, k) =>
      ({ kind: 'upsert', token, chat: 1 + (k % 100), number: k, body: `seed ${k}`, version: 1, created_at: at, updated_at: at }));
    for (let k = 0; k < seeds.length; k += 1_000) await direct.indexer.applyChanges(seeds.slice(k, k + 1_000));
    await direct.client.request('refresh', 'POST', `/${alias}/_refresh`);

    await proxy.stop();
    let edits = 0;
    for (let k = 0; k < BACKLOG; k++) {
      const x = k % 20;
      if (x < 12) {
        fast.offer({ kind: 'upsert', token, chat: CREATE_CHAT0 + (k % 100), number: k, body: `outage new ${k}`, version: 1, created_at: at, updated_at: at });
      } else {
        const seed = seeds[edits++]!;
        fast.offer(x < 17 ? { ...seed, body: `outage edit ${k}`, version: 2 } : { kind: 'delete', token, chat: seed.chat, number: seed.number, version: 2, updated_at: at });
      }
    }
    // Down once a bulk failed: the fresh lane holds its newest 200 again (its first bulk was put back).
    while (fast.waiting.fresh + fast.waiting.backlog < BACKLOG) await sleep(10);
    await sleep(300);
    await proxy.start();
    const back = performance.now();

    const done = { drained: NaN };
    const pending = new Map<number, number>();
    const fresh: number[] = [];
    let offering = true;
    const writer = (async () => {
      let n = 0;
      while (performance.now() - back < FRESH_S * 1000) {
        const due = Math.floor(((performance.now() - back) / 1000) * RATE);
        for (; n < due; n++) {
          fast.offer({ kind: 'upsert', token, chat: 1_000, number: n, body: `after ${n}`, version: 1, created_at: at, updated_at: at });
          pending.set(n, performance.now());
        }
        await sleep(5);
      }
      offering = false;
    })();
    const backlogQuery = { bool: { filter: [{ term: { token } }], should: [{ range: { chat: { gte: CREATE_CHAT0, lt: 1_000 } } }, { range: { version: { gte: 2 } } }], minimum_should_match: 1 } };
    while (Number.isNaN(done.drained) || offering || pending.size > 0) {
      if (performance.now() - back > 120_000) throw new Error('not drained within 120 s');
      if (Number.isNaN(done.drained)) {
        const c = await direct.client.request<{ count: number }>('count', 'POST', `/${alias}/_count`, { query: backlogQuery });
        if (c.body.count >= BACKLOG) done.drained = performance.now() - back;
      }
      if (pending.size > 0) {
        const ids = [...pending.keys()];
        const res = await direct.client.request<{ hits: { hits: Array<{ _source: { number: number } }> } }>('search', 'POST', `/${alias}/_search`,
          { size: ids.length, _source: ['number'], query: { bool: { filter: [{ term: { token } }, { term: { chat: 1_000 } }, { terms: { number: ids } }] } } });
        const now = performance.now();
        for (const h of res.body.hits.hits) {
          const t = pending.get(h._source.number);
          if (t !== undefined) { fresh.push(now - t); pending.delete(h._source.number); }
        }
      }
      await sleep(POLL_MS);
    }
    await writer;
    const f = stats(fresh, 0, 1).ms;
    return { run: i, backlog: BACKLOG, drained_ms: Math.round(done.drained),
      new_writes: { n: fresh.length, p50: Math.round(f.p50!), p99: Math.round(f.p99!), max: Math.round(f.max!) },
      load: os.loadavg().map(r2).join(' ') };
  } finally {
    await fast.close(2_000);
    await proxy.stop().catch(() => undefined);
    await dropSearchIndices(direct.client, prefix);
  }
}

async function main() {
  const results = [];
  for (let i = 1; i <= RUNS; i++) {
    const r = await run(i);
    console.error(JSON.stringify(r));
    results.push(r);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  console.log(JSON.stringify({
    runs: RUNS, backlog: BACKLOG, rate_after_return: RATE,
    drained_ms: { median: median(results.map((r) => r.drained_ms)), all: results.map((r) => r.drained_ms) },
    new_writes_p99_ms: { median: median(results.map((r) => r.new_writes.p99)), all: results.map((r) => r.new_writes.p99) },
  }, null, 2));
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
