import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { log, startTestServer, testConfig } from '../support/harness.js';
import { spawnService } from '../support/processes.js';
import { call, newApp, newChat, range } from '../chats/support.js';
import type { RunningServer } from '../../src/server.js';
import type { Search } from '../../src/search/search.js';
import { FastIndexer } from '../../src/search/fast-indexer.js';
import { MessageIndexer } from '../../src/search/message-indexer.js';
import { OpenSearchClient } from '../../src/search/opensearch-client.js';
import type { ChangeEvent } from '../../src/search/documents.js';
import { registry } from '../../src/observability/metrics.js';
import { tcpProxy } from '../../loadtest/bench/tcp-proxy.js';
import { startIndexerLoop } from '../../src/workers/indexer/run.js';
import { dropIndex, freshIndex } from './support.js';
import { eventually, indexerEnv, indexerPrefix, indexerWorker, searchAll } from './indexer-support.js';

/** The fast path on (TEST_ENV turns it off for every other suite), on this suite's own index. */
const fastEnv = (prefix: string, more: Record<string, string> = {}) =>
  ({ ...indexerEnv(prefix), SEARCH_FAST_INDEX: 'on', ...more });

/** A port that accepts connections and never answers: an OpenSearch hung mid-request. */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const held = new Set<Socket>();
  const server = createServer((s) => { held.add(s); s.on('error', () => undefined); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((resolve) => { for (const s of held) s.destroy(); server.close(() => resolve()); }),
  };
}

async function fastMetric(result: string): Promise<number> {
  const text = await registry.metrics();
  const m = new RegExp(`^ephemera_search_fast_index_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

const post = async (url: string, token: string, chat: number, body: string): Promise<number> => {
  const r = await call(url, 'POST', `/applications/${token}/chats/${chat}/messages`, { body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.number as number;
};

describe('search fast path: the API process indexes a change right after its row write', () => {
  const prefix = indexerPrefix();
  let search: Search;
  let server: RunningServer;

  before(async () => {
    server = await startTestServer(fastEnv(prefix));
    search = indexerWorker(server.db, prefix).search;
    await freshIndex(search, prefix);
  });
  after(async () => {
    await dropIndex(search, prefix);
    await server?.close();
  });

  it('when messages are created, edited and deleted with the fast path on, then search shows it without any indexer running', async () => {
    const url = server.url;
    const token = await newApp(url);
    const chat = await newChat(url, token);
    for (const body of ['quick one', 'quick two', 'quick three']) await post(url, token, chat, body);
    const messages = `/applications/${token}/chats/${chat}/messages`;
    assert.equal((await call(url, 'PUT', `${messages}/2`, { body: 'quick second' }, { 'if-match': '"1"' })).status, 200);
    assert.equal((await call(url, 'DELETE', `${messages}/3`)).status, 204);
    // No indexer runs in this test: whatever search shows came from the fast path, however long the wait (the
    // path takes ~1 s, the refresh interval; the wait is generous for a loaded CI machine).
    const hits = await eventually(() => searchAll(url, token, chat, 'QUICK'),
      (h) => h.length === 2 && h[1].version === 2, 60_000);
    assert.deepEqual(hits.map((h) => [h.number, h.body, h.version]), [[1, 'quick one', 1], [2, 'quick second', 2]]);
  });

  it('when an older version is delivered after a newer one or after the delete, then the newer state stays', async () => {
    const token = `tok-order-${prefix.slice(-8)}`;
    const deliver = async (events: ChangeEvent[]) => {
      // Its own fast path per step, so each step's bulk is acknowledged before the next one is offered.
      const fast = new FastIndexer(search.indexer, { maxQueue: 100, lingerMs: 1 }, log);
      for (const e of events) fast.offer(e);
      await fast.close(10_000);
      await search.client.request('refresh', 'POST', `/${prefix}-messages/_refresh`);
    };
    const at = new Date();
    const key = { token, chat: 1, created_at: at, updated_at: at };
    await deliver([{ kind: 'upsert', ...key, number: 1, body: 'order newest', version: 3 },
      { kind: 'delete', ...key, number: 2, version: 2 }]);
    const stale = await fastMetric('stale');
    // The late ones: version 1 and 2 of message 1 (an edit's hand-over that lost the race), the create of message 2.
    await deliver([{ kind: 'upsert', ...key, number: 1, body: 'order oldest', version: 1 },
      { kind: 'upsert', ...key, number: 1, body: 'order older', version: 2 },
      { kind: 'upsert', ...key, number: 2, body: 'order resurrected', version: 1 }]);
    assert.equal(await fastMetric('stale') - stale, 3, 'all three refused as stale');
    const page = await search.searcher.searchMessages({ token, chat: 1, q: 'order', limit: 10 });
    assert.deepEqual(page.messages.map((m) => [m.number, m.body, m.version]), [[1, 'order newest', 3]]);
  });

  it('when search is migrated, then the index refreshes every OPENSEARCH_REFRESH_INTERVAL_MS, also one that existed before', async () => {
    const setting = async () => {
      const res = await search.client.request<Record<string, { settings: { index: { refresh_interval?: string } } }>>(
        'get_settings', 'GET', `/${prefix}-messages/_settings`);
      return Object.values(res.body)[0]!.settings.index.refresh_interval;
    };
    assert.equal(await setting(), '500ms', 'the default, set when the index was created');
    await indexerWorker(server.db, prefix, { OPENSEARCH_REFRESH_INTERVAL_MS: '750' }).search.migrate();
    assert.equal(await setting(), '750ms', 'changed on the existing index');
    await search.migrate();
    assert.equal(await setting(), '500ms');
  });

  it('when the queue is full, then the oldest changes are shed and counted, and the newest go out once OpenSearch is back', async () => {
    const proxy = tcpProxy(new URL(testConfig().OPENSEARCH_URL));
    await proxy.start();
    await proxy.stop();
    const client = new OpenSearchClient({ url: proxy.url, timeoutMs: 2_000, bulkTimeoutMs: 30_000 });
    // A linger far longer than the ten offers below take, so no bulk leaves while they are made: with 5 ms, a
    // cold CI process once took longer than that between two offers, sent a bulk, and shed 6 instead of 8.
    const fast = new FastIndexer(new MessageIndexer(client, `${prefix}-messages`, log), { maxQueue: 2, lingerMs: 2_000 }, log);
    const token = `tok-full-${prefix.slice(-8)}`;
    try {
      const full = await fastMetric('shed_full');
      // offer returns nothing to wait for: a write's answer never depends on OpenSearch.
      for (let i = 1; i <= 10; i++) fast.offer({ kind: 'upsert', token, chat: 1, number: i, body: `full ${i}`, version: 1 });
      assert.equal(await fastMetric('shed_full') - full, 8, 'two queued, eight shed');
      assert.deepEqual(fast.waiting, { fresh: 2, backlog: 0 });
      const written = await fastMetric('written');
      await proxy.start();
      await eventually(async () => fast.waiting, (w) => w.fresh + w.backlog === 0, 15_000);
      // Waiting 0 means the bulk left, not that OpenSearch took it: wait for its answer before searching.
      await eventually(async () => await fastMetric('written') - written, (n) => n === 2, 15_000);
      await search.client.request('refresh', 'POST', `/${prefix}-messages/_refresh`);
      const page = await search.searcher.searchMessages({ token, chat: 1, q: 'full', limit: 20 });
      assert.deepEqual(page.messages.map((m) => m.number), [9, 10], 'the newest two; the change log has the older eight');
    } finally {
      await fast.close(2_000);
      await proxy.stop().catch(() => undefined);
    }
  });

  it('when OpenSearch returns after an outage, then a change offered after the return is sent ahead of the outage\'s backlog, which goes newest first, two bulks at a time, and everything arrives', async () => {
    const proxy = tcpProxy(new URL(testConfig().OPENSEARCH_URL));
    await proxy.start();
    const client = new OpenSearchClient({ url: proxy.url, timeoutMs: 2_000, bulkTimeoutMs: 30_000 });
    /** Every bulk in the order it was sent: its lane and the message numbers it carried. */
    const sent: Array<{ lane: string; numbers: number[] }> = [];
    /** Backlog bulks in flight now, and at most. */
    const backlogFlight = { now: 0, max: 0 };
    const recording = (lane: string) => new (class extends MessageIndexer {
      override async applyChanges(changes: ChangeEvent[]) {
        sent.push({ lane, numbers: changes.map((c) => c.number) });
        if (lane === 'fresh') return super.applyChanges(changes);
        backlogFlight.max = Math.max(backlogFlight.max, ++backlogFlight.now);
        try {
          return await super.applyChanges(changes);
        } finally {
          backlogFlight.now--;
        }
      }
    })(client, `${prefix}-messages`, log, lane === 'fresh' ? 2_000 : 30_000);
    const fast = new FastIndexer(recording('fresh'), { maxQueue: 20_000, lingerMs: 5 }, log, recording('backlog'));
    const token = `tok-back-${prefix.slice(-8)}`;
    const change = (number: number, body: string): ChangeEvent => ({ kind: 'upsert', token, chat: 1, number, body, version: 1 });
    try {
      await proxy.stop();
      // 5,000 changes during the outage: the fresh lane keeps the newest 200, the backlog the 4,800 before them.
      for (let i = 1; i <= 5_000; i++) fast.offer(change(i, `backlog ${i}`));
      // Its first two bulks fail and come back: the newest 200 stay fresh, the rest is the backlog, oldest first.
      await eventually(async () => fast.waiting, (w) => w.fresh === 200 && w.backlog === 4_800, 60_000);
      await proxy.start();
      const returned = sent.length;
      fast.offer(change(5_001, 'after the return'));
      await eventually(async () => fast.waiting, (w) => w.fresh + w.backlog === 0, 60_000);
      await fast.close(60_000);
      const carrying = (n: number) => sent.findLastIndex((b) => b.numbers.includes(n));
      assert.ok(carrying(5_001) < carrying(1), `the new change went before the oldest of the outage: ${JSON.stringify(sent.map((b) => [b.lane, b.numbers.length, b.numbers[0]]))}`);
      assert.equal(sent[carrying(5_001)]!.lane, 'fresh');
      // (Before the first failure told it OpenSearch was down, the backlog lane had tried the oldest change once.)
      const backlog = sent.slice(returned).filter((b) => b.lane === 'backlog');
      assert.ok(backlog.length >= 4, 'the backlog in bulks of up to 1,000');
      assert.ok(backlog.every((b) => b.numbers.length <= 1_000));
      assert.ok(backlog[0]!.numbers.includes(4_800), 'the newest of the backlog first');
      assert.ok(backlog.at(-1)!.numbers.includes(1), 'the oldest last');
      assert.equal(backlogFlight.max, 2, 'two backlog bulks in flight at once, never more');
      await search.client.request('refresh', 'POST', `/${prefix}-messages/_refresh`);
      const count = await search.client.request<{ count: number }>('count', 'POST', `/${prefix}-messages/_count`,
        { query: { term: { token } } });
      assert.equal(count.body.count, 5_001);
    } finally {
      await fast.close(2_000);
      await proxy.stop().catch(() => undefined);
    }
  });

  it('when a backlog of 1,000 changes or more has been sent, then it is searchable at once, not at the next refresh interval', async () => {
    // Its own index, refreshed only every 60 s: what search finds before then was made searchable by the fast path.
    const slow = `${prefix}_slow`;
    const slowSearch = indexerWorker(server.db, slow, { OPENSEARCH_REFRESH_INTERVAL_MS: '60000' }).search;
    await freshIndex(slowSearch, slow);
    const proxy = tcpProxy(new URL(testConfig().OPENSEARCH_URL));
    await proxy.start();
    const client = new OpenSearchClient({ url: proxy.url, timeoutMs: 2_000, bulkTimeoutMs: 30_000 });
    const indexer = (timeoutMs: number) => new MessageIndexer(client, `${slow}-messages`, log, timeoutMs);
    const fast = new FastIndexer(indexer(2_000), { maxQueue: 20_000, lingerMs: 5 }, log, indexer(30_000));
    const token = `tok-refr-${prefix.slice(-8)}`;
    const count = async () => (await slowSearch.client.request<{ count: number }>('count', 'POST', `/${slow}-messages/_count`,
      { query: { term: { token } } })).body.count;
    try {
      await proxy.stop();
      for (let i = 1; i <= 1_500; i++) fast.offer({ kind: 'upsert', token, chat: 1, number: i, body: `refresh ${i}`, version: 1 });
      await eventually(async () => fast.waiting, (w) => w.backlog === 1_300, 60_000);
      await proxy.start();
      await eventually(async () => fast.waiting.fresh + fast.waiting.backlog === 0 && fast.idle, (done) => done, 60_000);
      // Without the fast path's refresh, the 1,300 of the backlog would wait up to 60 s (the 200 fresh ones may too).
      assert.ok(await count() >= 1_300, `searchable after the catch-up: ${await count()}`);
    } finally {
      await fast.close(2_000);
      await proxy.stop().catch(() => undefined);
      await dropIndex(slowSearch, slow);
    }
  });

  it('when OpenSearch is unreachable, then creates answer 201 and search 503; once it is back the queued changes go out at once and the change log indexes the shed ones', async () => {
    const proxy = tcpProxy(new URL(testConfig().OPENSEARCH_URL));
    await proxy.start();
    // A queue of 5: of the outage's 20 creates, 5 wait in it and 15 are shed to the change log.
    const outage = await startTestServer(fastEnv(prefix, { OPENSEARCH_URL: proxy.url, SEARCH_FAST_INDEX_QUEUE: '5' }));
    let loop: { stop(): Promise<void> } | null = null;
    try {
      const token = await newApp(outage.url);
      const chat = await newChat(outage.url, token);
      await post(outage.url, token, chat, 'before the outage');
      await eventually(() => searchAll(outage.url, token, chat, 'outage'), (h) => h.length === 1, 60_000);
      await proxy.stop();
      const full = await fastMetric('shed_full');
      for (let i = 1; i <= 20; i++) await post(outage.url, token, chat, `during the outage ${i}`);
      const r = await call(outage.url, 'GET', `/applications/${token}/chats/${chat}/messages/search?q=outage`);
      assert.equal(r.status, 503);
      assert.equal(r.body.error.code, 'search_unavailable');
      // A probe bulk (one per 250 ms) may be out with the queue's five at this instant: they count as queued again,
      // and the oldest beyond five as shed, only once its refusal comes back.
      await eventually(async () => await fastMetric('shed_full') - full, (n) => n === 15, 30_000)
        .catch((err: Error) => assert.fail(`five queued, fifteen (the oldest) shed: ${err.message}`));
      await proxy.start();
      // Back: the fast path's next probe (every 250 ms) finds it and sends the queue, still without an indexer
      // (so however long this waits, what it finds came from the fast path).
      const held = await eventually(() => searchAll(outage.url, token, chat, 'during the outage'), (h) => h.length > 0, 60_000);
      assert.deepEqual(held.map((h) => h.number), range(17, 21), 'the last five of the outage, which waited in the queue');
      const n = await post(outage.url, token, chat, 'after the outage');
      await eventually(() => searchAll(outage.url, token, chat, 'after the outage'), (h) => h.some((x) => x.number === n), 60_000);
      // The durable path: an indexer on the change log delivers what the fast path shed.
      const { worker, consumer } = indexerWorker(server.db, prefix);
      loop = startIndexerLoop(worker, consumer, log, 1);
      // A new consumer walks the last hour of the keyspace's change log (the suites before this one wrote to it too):
      // at load average 35 that took over 90 s once, so this wait is generous; it bounds delivery, not speed.
      const hits = await eventually(() => searchAll(outage.url, token, chat, 'during the outage'), (h) => h.length === 20, 300_000);
      assert.deepEqual(hits.map((h) => h.number), range(2, 21));
    } finally {
      await loop?.stop();
      await outage.close();
      await proxy.stop().catch(() => undefined);
    }
  });

  it('when the process is SIGKILLed while its index calls hang, then the change log still delivers every write', async () => {
    const hole = await blackHole();
    const child = await spawnService(fastEnv(prefix, { OPENSEARCH_URL: hole.url }));
    let loop: { stop(): Promise<void> } | null = null;
    try {
      const token = await newApp(child.url);
      const chat = await newChat(child.url, token);
      for (let i = 1; i <= 10; i++) await post(child.url, token, chat, `killed writer ${i}`);
      // The writes were acknowledged; their bulk is still waiting for an answer that never comes.
      child.proc.kill('SIGKILL');
      await child.stop();
      const { worker, consumer } = indexerWorker(server.db, prefix);
      loop = startIndexerLoop(worker, consumer, log, 1);
      const hits = await eventually(() => searchAll(server.url, token, chat, 'killed writer'), (h) => h.length === 10);
      assert.deepEqual(hits.map((h) => h.number), range(1, 10));
    } finally {
      await loop?.stop();
      await hole.close();
      await child.stop('SIGKILL');
    }
  });
});
