import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../support/harness.js';
import { spawnCli } from '../support/processes.js';
import { call, newApp, newChat, pool, range } from '../chats/support.js';
import type { RunningServer } from '../../src/server.js';
import type { Search } from '../../src/search/search.js';
import { messagesAlias } from '../../src/search/index-schema.js';
import { dropIndex, freshIndex } from './support.js';
import { closedPort, eventually, indexerEnv, indexerPrefix, indexerWorker, searchAll } from './indexer-support.js';

/** Documents of one application in the index, live or tombstoned: every (chat, number) at most once. */
async function docsOf(search: Search, prefix: string, token: string): Promise<number> {
  const res = await search.client.request<{ count: number }>('count', 'POST', `/${messagesAlias(prefix)}/_count`,
    { query: { term: { token } } });
  return res.body.count;
}

async function createMessages(url: string, token: string, chat: number, n: number, width = 4): Promise<void> {
  await pool(n, width, async (i) => {
    const r = await call(url, 'POST', `/applications/${token}/chats/${chat}/messages`, { body: `fault message ${i}` });
    assert.equal(r.status, 201);
  });
}

describe('indexer faults: OpenSearch unreachable, indexer SIGKILLed', () => {
  const prefix = indexerPrefix();
  let server: RunningServer;
  let search: Search;
  const children: Array<{ proc: { kill(s: NodeJS.Signals): boolean; exitCode: number | null } }> = [];
  const spawnIndexer = async (env: Record<string, string> = {}) => {
    const child = await spawnCli(['index', '--every', '1'], { ...indexerEnv(prefix), ...env });
    children.push(child);
    return child;
  };

  before(async () => {
    server = await startTestServer(indexerEnv(prefix));
    search = indexerWorker(server.db, prefix).search;
    await freshIndex(search, prefix);
  });
  after(async () => {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    await dropIndex(search, prefix);
    await server?.close();
  });

  it('when OpenSearch is unreachable, then search answers 503, creates keep working, and a fresh indexer catches up afterwards', async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const outage = await startTestServer({ ...indexerEnv(prefix), OPENSEARCH_URL: down });
    try {
      const token = await newApp(outage.url);
      const chat = await newChat(outage.url, token);
      await createMessages(outage.url, token, chat, 30);
      const r = await call(outage.url, 'GET', `/applications/${token}/chats/${chat}/messages/search?q=fault`);
      assert.equal(r.status, 503);
      assert.equal(r.body.error.code, 'search_unavailable');
      // An indexer during the outage reaches the bucket, cannot apply it and keeps its checkpoint before it.
      const blind = await spawnIndexer({ OPENSEARCH_URL: down });
      await eventually(async () => blind.logs.some((l) => l.includes('indexer retries the bucket')), (seen) => seen);
      blind.proc.kill('SIGTERM');
      assert.equal(await blind.exited, 0);
      assert.equal(await docsOf(search, prefix, token), 0, 'nothing reached the index during the outage');
      // OpenSearch "returns": an indexer pointed at it applies everything the outage held back.
      const back = await spawnIndexer();
      const hits = await eventually(() => searchAll(server.url, token, chat, 'FAULT MESSAGE'), (h) => h.length === 30);
      assert.deepEqual(hits.map((h) => h.number), range(1, 30));
      assert.equal(await docsOf(search, prefix, token), 30);
      back.proc.kill('SIGTERM');
      assert.equal(await back.exited, 0);
    } finally {
      await outage.close();
    }
  });

  it('when migrate cannot reach OpenSearch, then it still succeeds and the indexer creates the index itself', async () => {
    const fresh = indexerPrefix();
    const freshSearch = indexerWorker(server.db, fresh).search;
    try {
      const migrate = await spawnCli(['migrate'], { ...indexerEnv(fresh), OPENSEARCH_URL: `http://127.0.0.1:${await closedPort()}` });
      assert.equal(await migrate.exited, 0, migrate.logs.join('\n'));
      assert.ok(migrate.logs.some((l) => l.includes('the indexer will create it')));
      const once = await spawnCli(['index', '--once'], indexerEnv(fresh));
      assert.equal(await once.exited, 0, once.logs.join('\n'));
      const alias = await freshSearch.client.request('get_alias', 'GET', `/_alias/${messagesAlias(fresh)}`);
      assert.deepEqual(Object.keys(alias.body as object), [`${fresh}-messages-v1`]);
    } finally {
      await dropIndex(freshSearch, fresh);
    }
  });

  it('when the indexer is SIGKILLed while applying, then a new one loses nothing and duplicates nothing', async () => {
    const token = await newApp(server.url);
    const chats = [await newChat(server.url, token), await newChat(server.url, token)];
    // Spread over more than one 10 s bucket of the change log: ~150 creates/s at most here, so 400 take 3+ s.
    await createMessages(server.url, token, chats[0]!, 200, 2);
    await new Promise((r) => setTimeout(r, 3_000));
    await createMessages(server.url, token, chats[1]!, 200, 2);
    const victim = await spawnIndexer();
    // Killed as soon as its first documents are visible: it is in the middle of walking (and applying) buckets.
    await eventually(() => docsOf(search, prefix, token), (n) => n > 0, 120_000);
    victim.proc.kill('SIGKILL');
    await victim.exited;
    const atKill = await docsOf(search, prefix, token);
    console.log(`SIGKILLed with ${atKill} of 400 documents indexed`);
    await spawnIndexer();
    await eventually(() => docsOf(search, prefix, token), (n) => n === 400, 120_000);
    for (const chat of chats) {
      const hits = await searchAll(server.url, token, chat, 'fault message');
      assert.deepEqual(hits.map((h) => h.number), range(1, 200), `chat ${chat}: every number once, in order`);
      assert.ok(hits.every((h) => /^fault message \d+$/.test(h.body) && h.version === 1));
    }
    assert.equal(await docsOf(search, prefix, token), 400, `no duplicates (${atKill} were indexed at the kill)`);
  });
});
