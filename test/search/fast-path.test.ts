import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
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
import { startIndexerLoop } from '../../src/workers/indexer-run.js';
import { dropIndex, freshIndex } from './support.js';
import { eventually, indexerEnv, indexerPrefix, indexerWorker, searchAll } from './indexer-support.js';

/** The fast path on (TEST_ENV turns it off for every other suite), on this suite's own index. */
const fastEnv = (prefix: string, more: Record<string, string> = {}) =>
  ({ ...indexerEnv(prefix), SEARCH_FAST_INDEX: 'on', ...more });

/**
 * A TCP proxy in front of the shared OpenSearch that the test can stop and start again on the same port:
 * "OpenSearch down" for the service behind it, without stopping the node other suites use.
 */
function tcpProxy(target: URL) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  return {
    get url() { return `http://127.0.0.1:${port}`; },
    async start() {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(client).add(upstream);
        const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
        for (const s of [client, upstream]) { s.on('error', end); s.on('close', end); }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

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
    // No indexer runs in this suite: whatever search shows came from the fast path. 10 s is generous for a
    // path that takes ~1 s (the refresh interval), and shorter than the change log's 15 s minimum anyway.
    const hits = await eventually(() => searchAll(url, token, chat, 'QUICK'),
      (h) => h.length === 2 && h[1].version === 2, 10_000);
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

  it('when the queue is full, then further changes are shed at once and counted, and offering never waits', async () => {
    const hole = await blackHole();
    const client = new OpenSearchClient({ url: hole.url, timeoutMs: 500, bulkTimeoutMs: 500 });
    const fast = new FastIndexer(new MessageIndexer(client, `${prefix}-messages`, log), { maxQueue: 2, lingerMs: 5 }, log);
    try {
      const full = await fastMetric('shed_full');
      const t0 = performance.now();
      for (let i = 1; i <= 10; i++) fast.offer({ kind: 'upsert', token: 'tok-full', chat: 1, number: i, body: 'x', version: 1 });
      const ms = performance.now() - t0;
      assert.equal(await fastMetric('shed_full') - full, 8, 'two queued, eight shed');
      assert.ok(ms < 50, `ten offers took ${ms.toFixed(1)} ms`);
    } finally {
      await fast.close(2_000);
      await hole.close();
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
      await eventually(() => searchAll(outage.url, token, chat, 'outage'), (h) => h.length === 1, 10_000);
      await proxy.stop();
      const full = await fastMetric('shed_full');
      for (let i = 1; i <= 20; i++) await post(outage.url, token, chat, `during the outage ${i}`);
      const r = await call(outage.url, 'GET', `/applications/${token}/chats/${chat}/messages/search?q=outage`);
      assert.equal(r.status, 503);
      assert.equal(r.body.error.code, 'search_unavailable');
      assert.equal(await fastMetric('shed_full') - full, 15, 'five queued, fifteen shed');
      await proxy.start();
      // Back: the fast path sends its queue after its pause (at most 5 s), still without an indexer.
      const held = await eventually(() => searchAll(outage.url, token, chat, 'during the outage'), (h) => h.length > 0, 15_000);
      assert.deepEqual(held.map((h) => h.number), range(2, 6), 'the first five of the outage, which waited in the queue');
      const n = await post(outage.url, token, chat, 'after the outage');
      await eventually(() => searchAll(outage.url, token, chat, 'after the outage'), (h) => h.some((x) => x.number === n), 10_000);
      // The durable path: an indexer on the change log delivers what the fast path shed.
      const { worker, consumer } = indexerWorker(server.db, prefix);
      loop = startIndexerLoop(worker, consumer, log, 1);
      const hits = await eventually(() => searchAll(outage.url, token, chat, 'during the outage'), (h) => h.length === 20);
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
