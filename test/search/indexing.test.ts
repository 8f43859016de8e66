import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { AppError } from '../../src/errors.js';
import { registry } from '../../src/observability/metrics.js';
import { TEST_PREFIX, bodiesMatching, docsOf, dropIndex, freshIndex, testSearch, uniqueToken } from './support.js';

const isUnavailable = (e: unknown) => e instanceof AppError && e.status === 503 && e.code === 'search_unavailable';

describe('search index: versioned writes, pagination, migrations', () => {
  const search = testSearch();
  const { indexer, searcher } = search;
  before(async () => { await freshIndex(search); });
  after(async () => { await dropIndex(search); });

  it('when migrateSearch runs again, then it changes nothing and the alias still points at the current index', async () => {
    const again = await search.migrate();
    assert.equal(again.created, false);
    const res = await search.client.request<Record<string, unknown>>('get_alias', 'GET', `/_alias/${again.index.replace(/-v\d+$/, '')}`);
    assert.deepEqual(Object.keys(res.body), [again.index]);
  });

  it('when a newer version was indexed, then an older one arriving later is refused as stale and the body stays new', async () => {
    const token = uniqueToken();
    const key = { token, chat: 1, number: 7 };
    assert.deepEqual(await indexer.indexMessages([{ ...key, body: 'edited text', version: 2 }], 'wait_for'),
      { written: 1, stale: 0, failed: [] });
    assert.deepEqual(await indexer.indexMessages([{ ...key, body: 'original text', version: 1 }], 'wait_for'),
      { written: 0, stale: 1, failed: [] });
    assert.deepEqual(await bodiesMatching(search, token, 1, 'text'), ['edited text']);
    // A replay of the same version is stale too: nothing changes.
    assert.equal((await indexer.indexMessages([{ ...key, body: 'edited text', version: 2 }])).stale, 1);
  });

  it('when a message is edited, then the old words stop matching and the new ones match', async () => {
    const token = uniqueToken();
    const key = { token, chat: 1, number: 1 };
    await indexer.indexMessages([{ ...key, body: 'alpha', version: 1 }], 'wait_for');
    assert.deepEqual(await bodiesMatching(search, token, 1, 'alp'), ['alpha']);
    await indexer.indexMessages([{ ...key, body: 'beta', version: 2 }], 'wait_for');
    assert.deepEqual(await bodiesMatching(search, token, 1, 'alp'), []);
    assert.deepEqual(await bodiesMatching(search, token, 1, 'bet'), ['beta']);
  });

  it('when a delete is followed by a stale upsert, then the message stays deleted', async () => {
    const token = uniqueToken();
    const key = { token, chat: 1, number: 3 };
    await indexer.indexMessages([{ ...key, body: 'doomed words', version: 1 }], 'wait_for');
    assert.deepEqual(await bodiesMatching(search, token, 1, 'doomed'), ['doomed words']);
    assert.equal((await indexer.deleteMessages([{ ...key, version: 2 }], 'wait_for')).written, 1);
    assert.deepEqual(await bodiesMatching(search, token, 1, 'doomed'), []);
    assert.equal((await indexer.indexMessages([{ ...key, body: 'doomed words', version: 1 }], 'wait_for')).stale, 1);
    assert.deepEqual(await bodiesMatching(search, token, 1, 'doomed'), []);
  });

  it('when one batch holds the changes of a message out of order, then the highest version wins', async () => {
    const token = uniqueToken();
    const base = { token, chat: 4, number: 1 };
    const result = await indexer.applyChanges([
      { kind: 'upsert', ...base, body: 'third', version: 3 },
      { kind: 'upsert', ...base, body: 'first', version: 1 },
      { kind: 'delete', ...base, version: 2 },
      { kind: 'upsert', ...base, number: 2, body: 'other first', version: 1 },
      { kind: 'delete', ...base, number: 2, version: 2 },
      { kind: 'upsert', ...base, number: 2, body: 'other first', version: 1 },
    ], 'wait_for');
    assert.deepEqual(result, { written: 3, stale: 3, failed: [] });
    assert.deepEqual(await bodiesMatching(search, token, 4, 'i'), ['third']);
  });

  it('when an event is malformed, then applyChanges throws before writing anything', async () => {
    const token = uniqueToken();
    await assert.rejects(indexer.applyChanges([
      { kind: 'upsert', token, chat: 1, number: 1, body: 'fine', version: 1 },
      { kind: 'upsert', token, chat: 1, number: 2, version: 1 },
    ], 'wait_for'), /needs a body/);
    assert.deepEqual(await bodiesMatching(search, token, 1, 'fine'), []);
  });

  it('when 25 messages match, then pages of 10 come by number ascending and the last page has no next', async () => {
    const token = uniqueToken();
    const bodies = Array.from({ length: 40 }, (_, i) => (i % 8 < 5 ? `match ${i}` : `skip ${i}`));
    // Indexed in reverse, in two requests: the order of the answer must come from the numbers.
    const docs = docsOf(token, 9, bodies).reverse();
    await indexer.indexMessages(docs.slice(0, 20));
    await indexer.indexMessages(docs.slice(20), 'wait_for');
    const expected = bodies.map((b, i) => ({ b, n: i + 1 })).filter((x) => x.b.startsWith('match')).map((x) => x.n);
    assert.equal(expected.length, 25);
    const seen: number[] = [];
    let afterNumber: number | undefined;
    for (let page = 0; page < 3; page++) {
      const res = await searcher.searchMessages({ token, chat: 9, q: 'MATCH', after: afterNumber, limit: 10 });
      seen.push(...res.messages.map((m) => m.number));
      assert.equal(res.next, page < 2 ? res.messages[res.messages.length - 1]!.number : null);
      afterNumber = res.next ?? undefined;
    }
    assert.deepEqual(seen, expected);
  });

  it('when a body is 64 KiB, then a substring at its very end is found', async () => {
    const token = uniqueToken();
    const body = `${'lorem ipsum '.repeat(5461)}Ünicode tail`;
    assert.ok(Buffer.byteLength(body) > 65_000);
    assert.equal((await indexer.indexMessages(docsOf(token, 1, [body]), 'wait_for')).written, 1);
    assert.equal((await bodiesMatching(search, token, 1, 'ünicode TAIL')).length, 1);
  });

  it('when messages come from an async source, then reindex writes them all in bulks', async () => {
    const token = uniqueToken();
    async function* source() { for (const d of docsOf(token, 2, Array.from({ length: 120 }, (_, i) => `re ${i}`))) yield d; }
    const result = await indexer.reindex(source(), 50);
    assert.deepEqual(result, { written: 120, stale: 0, failed: [] });
    await search.client.request('refresh', 'POST', '/_refresh');
    assert.equal((await bodiesMatching(search, token, 2, 're ')).length, 120);
    assert.equal((await indexer.reindex(source(), 50)).stale, 120);
  });

  it('when documents were applied, then the metrics count them by kind and result', async () => {
    const text = await registry.metrics();
    assert.match(text, /ephemera_search_documents_applied_total\{kind="upsert",result="written"\} [1-9]/);
    assert.match(text, /ephemera_search_documents_applied_total\{kind="delete",result="written"\} [1-9]/);
    assert.match(text, /ephemera_search_request_duration_seconds_count\{operation="search",outcome="ok"\} [1-9]/);
  });
});

describe('search: index not migrated', () => {
  const prefix = `${TEST_PREFIX}_unmigrated`;
  const search = testSearch({}, prefix);
  before(async () => { await dropIndex(search, prefix); });
  after(async () => { await dropIndex(search, prefix); });

  it('when the alias does not exist, then indexing and search answer 503 and no index is auto-created', async () => {
    await assert.rejects(search.indexer.indexMessages(docsOf('t', 1, ['x'])), isUnavailable);
    await assert.rejects(search.searcher.searchMessages({ token: 't', chat: 1, q: 'x', limit: 10 }), isUnavailable);
    const probe = await search.client.request('index_exists', 'HEAD', `/${prefix}-messages`, undefined, { accept: [404] });
    assert.equal(probe.status, 404);
    // After the migration the same batch goes through.
    await search.migrate();
    assert.equal((await search.indexer.indexMessages(docsOf('t', 1, ['x']))).written, 1);
  });
});

describe('search: OpenSearch unreachable', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let silentPort = 0;
  let closedPort = 0;
  before(async () => {
    // A port nothing listens on: take a free one and close it again.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    // A server that accepts connections and never answers: the timeout must end the request.
    silent = createServer((socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  for (const [what, port] of [['refused', () => closedPort], ['never answering', () => silentPort]] as const) {
    it(`when OpenSearch is ${what}, then search and indexing fail with AppError 503 search_unavailable`, async () => {
      const down = testSearch({ OPENSEARCH_URL: `http://127.0.0.1:${port()}`, OPENSEARCH_REQUEST_TIMEOUT_MS: '300',
        OPENSEARCH_BULK_TIMEOUT_MS: '300' });
      await assert.rejects(down.searcher.searchMessages({ token: 't', chat: 1, q: 'x', limit: 10 }), isUnavailable);
      await assert.rejects(down.indexer.indexMessages(docsOf('t', 1, ['x'])), isUnavailable);
      await assert.rejects(down.migrate(), isUnavailable);
    });
  }

  it('when the query is invalid and OpenSearch is down, then the answer is still 400 (validation comes first)', async () => {
    const down = testSearch({ OPENSEARCH_URL: `http://127.0.0.1:${closedPort}` });
    await assert.rejects(down.searcher.searchMessages({ token: 't', chat: 1, q: '', limit: 10 }),
      (e: unknown) => e instanceof AppError && e.status === 400);
  });
});
