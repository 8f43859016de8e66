import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../support/harness.js';
import { call, newApp, newChat, pool } from '../chats/support.js';
import type { RunningServer } from '../../src/server.js';
import { startIndexerLoop } from '../../src/workers/indexer/run.js';
import { log } from '../support/harness.js';
import { spawnCli } from '../support/processes.js';
import { dropIndex, freshIndex, testSearch } from './support.js';
import { closedPort, eventually, indexerEnv, indexerPrefix, indexerWorker, searchAll } from './indexer-support.js';

const A1 = ['Hello world', 'HELLO there', 'a shell script', 'ÄRGER im Büro', 'Straße 5', 'what?! (really)', 'ab'];
const bodiesOf = (hits: Array<{ body: string }>) => hits.map((h) => h.body);

describe('GET .../chats/:number/messages/search, fed by the indexer from the change log', () => {
  const prefix = indexerPrefix();
  let server: RunningServer;
  let loop: { stop(): Promise<void> };
  let tokenA: string;
  let tokenB: string;

  before(async () => {
    server = await startTestServer(indexerEnv(prefix));
    const { worker, search, consumer } = indexerWorker(server.db, prefix);
    await freshIndex(search, prefix);
    const url = server.url;
    tokenA = await newApp(url, 'a');
    tokenB = await newApp(url, 'b');
    assert.equal(await newChat(url, tokenA), 1);
    assert.equal(await newChat(url, tokenA), 2);
    assert.equal(await newChat(url, tokenB), 1);
    const post = (token: string, chat: number, body: string) =>
      call(url, 'POST', `/applications/${token}/chats/${chat}/messages`, { body }).then((r) => assert.equal(r.status, 201));
    for (const body of A1) await post(tokenA, 1, body);
    await pool(12, 4, (i) => post(tokenA, 1, `page item ${i}`));
    await post(tokenA, 2, 'hello from chat two');
    await post(tokenB, 1, 'hello from application b');
    loop = startIndexerLoop(worker, consumer, log, 1);
    await eventually(() => searchAll(url, tokenA, 1, 'page item'), (hits) => hits.length === 12);
    await eventually(() => searchAll(url, tokenB, 1, 'hello'), (hits) => hits.length === 1);
    await eventually(() => searchAll(url, tokenA, 2, 'hello'), (hits) => hits.length === 1);
  });
  after(async () => {
    await loop?.stop();
    const { search } = indexerWorker(server.db, prefix);
    await dropIndex(search, prefix);
    await server?.close();
  });

  it('when q is a substring in any case, then exactly the messages containing it match, by number ascending', async () => {
    const hits = await searchAll(server.url, tokenA, 1, 'ell');
    assert.deepEqual(bodiesOf(hits), ['Hello world', 'HELLO there', 'a shell script']);
    assert.deepEqual(hits.map((h) => h.number), [1, 2, 3]);
    assert.deepEqual(Object.keys(hits[0]).sort(), ['body', 'created_at', 'number', 'updated_at', 'version']);
    assert.equal(hits[0].version, 1);
  });

  it('when q differs in case beyond ASCII, then Unicode folding still matches (ärger, STRASSE)', async () => {
    assert.deepEqual(bodiesOf(await searchAll(server.url, tokenA, 1, 'ärger')), ['ÄRGER im Büro']);
    assert.deepEqual(bodiesOf(await searchAll(server.url, tokenA, 1, 'STRASSE')), ['Straße 5']);
    assert.deepEqual(bodiesOf(await searchAll(server.url, tokenA, 1, '?!')), ['what?! (really)']);
    assert.deepEqual(bodiesOf(await searchAll(server.url, tokenA, 1, 'B')), ['ÄRGER im Büro', 'ab']);
  });

  it('when another chat or application holds the same word, then it never shows up', async () => {
    assert.deepEqual(bodiesOf(await searchAll(server.url, tokenA, 2, 'hello')), ['hello from chat two']);
    assert.deepEqual(bodiesOf(await searchAll(server.url, tokenB, 1, 'hello')), ['hello from application b']);
    assert.equal((await searchAll(server.url, tokenB, 1, 'world')).length, 0);
  });

  it('when matches span pages, then limit and the Link rel=next walk them all once, in order', async () => {
    const first = await call(server.url, 'GET', `/applications/${tokenA}/chats/1/messages/search?q=PAGE&limit=5`);
    assert.equal(first.status, 200);
    assert.equal(first.body.length, 5);
    assert.match(first.headers.get('link') ?? '', /[?&]q=PAGE&limit=5&after=\d+>; rel="next"/);
    const all = await searchAll(server.url, tokenA, 1, 'PAGE', 5);
    assert.equal(all.length, 12);
    assert.deepEqual(all.map((h) => h.number), [...all.map((h) => h.number)].sort((x, y) => x - y));
    assert.equal(new Set(all.map((h) => h.number)).size, 12);
    const last = await call(server.url, 'GET', `/applications/${tokenA}/chats/1/messages/search?q=PAGE&after=${all.at(-1).number}`);
    assert.deepEqual(last.body, []);
    assert.equal(last.headers.get('link'), null);
  });

  it('when nothing matches, then the answer is 200 []', async () => {
    const r = await call(server.url, 'GET', `/applications/${tokenA}/chats/1/messages/search?q=zzz-nothing`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, []);
  });

  it('when the other paths are used (/api, .../chats/:n/search), then they answer the same', async () => {
    const expected = bodiesOf(await searchAll(server.url, tokenA, 1, 'ell'));
    for (const path of [`/api/applications/${tokenA}/chats/1/messages/search?q=ell`, `/applications/${tokenA}/chats/1/search?q=ell`,
      `/api/applications/${tokenA}/chats/1/search?q=ell`]) {
      const r = await call(server.url, 'GET', path);
      assert.equal(r.status, 200, path);
      assert.deepEqual(bodiesOf(r.body), expected, path);
    }
  });

  it('when search_query (the Rails/Go chat system\'s name of q) is sent on /api/applications, then it searches as q does', async () => {
    const expected = bodiesOf(await searchAll(server.url, tokenA, 1, 'ell'));
    assert.ok(expected.length > 0);
    for (const qs of ['search_query=ell', 'search_query=ell&q=ell', 'search_query=ell&search_query=zzz']) {
      for (const path of [`/api/applications/${tokenA}/chats/1/messages/search?${qs}`, `/api/applications/${tokenA}/chats/1/search?${qs}`]) {
        const r = await call(server.url, 'GET', path);
        assert.equal(r.status, 200, path);
        assert.deepEqual(bodiesOf(r.body), expected, path);
      }
    }
    // The next link keeps this API's name (q), and it works on that mount too.
    const paged = await call(server.url, 'GET', `/api/applications/${tokenA}/chats/1/messages/search?search_query=page%20item&limit=5`);
    assert.match(paged.headers.get('link') ?? '', /[?&]q=page(\+|%20)item&limit=5&after=\d+>/);
    const conflict = await call(server.url, 'GET', `/api/applications/${tokenA}/chats/1/messages/search?q=ell&search_query=hello`);
    assert.equal(conflict.status, 400);
    assert.equal(conflict.body.error.code, 'conflicting_fields');
    // On /applications it is no name of q: no query at all.
    const own = await call(server.url, 'GET', `/applications/${tokenA}/chats/1/messages/search?search_query=ell`);
    assert.equal(own.body.error.code, 'invalid_query');
  });

  it('when the token or chat is unknown, then 404; when q is empty or too long, then 400', async () => {
    const base = `/applications/${tokenA}/chats`;
    assert.equal((await call(server.url, 'GET', `/applications/${'x'.repeat(32)}/chats/1/messages/search?q=a`)).status, 404);
    assert.equal((await call(server.url, 'GET', `${base}/99/messages/search?q=a`)).status, 404);
    assert.equal((await call(server.url, 'GET', `${base}/99/messages/search`)).status, 404, 'existence is checked first');
    for (const qs of ['', '?q=', `?q=${'a'.repeat(257)}`]) {
      const r = await call(server.url, 'GET', `${base}/1/messages/search${qs}`);
      assert.equal(r.status, 400, qs);
      assert.equal(r.body.error.code, 'invalid_query');
    }
  });

  it('when `ephemera reindex --token` rebuilds a fresh index from Cassandra, then it holds exactly that application', async () => {
    const other = indexerPrefix();
    const rebuilt = testSearch({}, other);
    try {
      // --token=VALUE: a token is base64url, and one that starts with '-' (1 in 64) would be read as an option.
      const run = await spawnCli(['reindex', `--token=${tokenA}`], indexerEnv(other));
      assert.equal(await run.exited, 0, run.logs.join('\n'));
      await rebuilt.client.request('refresh', 'POST', `/${other}-messages/_refresh`);
      const page = await rebuilt.searcher.searchMessages({ token: tokenA, chat: 1, q: 'ell', limit: 100 });
      assert.deepEqual(page.messages.map((m) => m.body), ['Hello world', 'HELLO there', 'a shell script']);
      assert.equal((await rebuilt.searcher.searchMessages({ token: tokenA, chat: 2, q: 'hello', limit: 100 })).messages.length, 1);
      assert.equal((await rebuilt.searcher.searchMessages({ token: tokenB, chat: 1, q: 'hello', limit: 100 })).messages.length, 0);
    } finally {
      await dropIndex(rebuilt, other);
    }
  });

  it('when a message is fetched by number, then /messages/:number still answers it (search does not capture it)', async () => {
    const r = await call(server.url, 'GET', `/applications/${tokenA}/chats/1/messages/1`);
    assert.equal(r.status, 200);
    assert.equal(r.body.body, 'Hello world');
  });
});

describe('search while OpenSearch is unreachable', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ ...indexerEnv(indexerPrefix()), OPENSEARCH_URL: `http://127.0.0.1:${await closedPort()}` });
  });
  after(async () => { await server?.close(); });

  it('when OpenSearch cannot be reached, then search answers a JSON 503 search_unavailable and creates keep working', async () => {
    const token = await newApp(server.url);
    const chat = await newChat(server.url, token);
    const created = await call(server.url, 'POST', `/applications/${token}/chats/${chat}/messages`, { body: 'still works' });
    assert.equal(created.status, 201);
    const r = await call(server.url, 'GET', `/applications/${token}/chats/${chat}/messages/search?q=works`);
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, 'search_unavailable');
    assert.equal(r.headers.get('retry-after'), '1');
    assert.equal((await call(server.url, 'GET', `/applications/${token}/chats/${chat}/messages`)).body.length, 1);
  });
});
