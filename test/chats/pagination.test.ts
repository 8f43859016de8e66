import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../support/harness.js';
import type { RunningServer } from '../../src/server.js';
import { BUCKET_SIZE } from '../../src/chats/numbered.js';
import { call, newApp, newChat, pool, range, walk } from './support.js';

describe('paging a large chat', () => {
  let server: RunningServer;
  let path: string;
  before(async () => {
    server = await startTestServer();
    const token = await newApp(server.url);
    const chat = await newChat(server.url, token);
    path = `/applications/${token}/chats/${chat}/messages`;
    const replies = await pool(2000, 50, (i) => call(server.url, 'POST', path, { body: `body-${i}` }));
    assert.ok(replies.every((r) => r.status === 201));
  });
  after(async () => { await server.close(); });

  it('when a 2,000-message chat is walked through next links, then every message comes exactly once, in order', async () => {
    assert.ok(2000 > BUCKET_SIZE, 'the chat spans several number-range partitions');
    for (const limit of [500, 137]) {
      const { items, pages } = await walk(server.url, `${path}?limit=${limit}`);
      assert.deepEqual(items.map((m) => m.number), range(1, 2000));
      assert.equal(new Set(items.map((m) => m.body)).size, 2000);
      assert.equal(pages, Math.ceil(2000 / limit));
    }
  });

  it('when no limit is given, then a page has 50 messages; after= starts behind the given number', async () => {
    const first = await call(server.url, 'GET', path);
    assert.equal(first.body.length, 50);
    assert.match(first.headers.get('link')!, /^<\/applications\/[\w-]+\/chats\/\d+\/messages\?limit=50&after=50>; rel="next"$/);
    const across = await call(server.url, 'GET', `${path}?after=995&limit=10`);
    assert.deepEqual(across.body.map((m: { number: number }) => m.number), range(996, 1005));
    const tail = await call(server.url, 'GET', `${path}?after=1995&limit=10`);
    assert.deepEqual(tail.body.map((m: { number: number }) => m.number), range(1996, 2000));
    assert.equal(tail.headers.get('link'), null, 'no next link after the last page');
    assert.deepEqual((await call(server.url, 'GET', `${path}?after=2000`)).body, []);
  });
});
