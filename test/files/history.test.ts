import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startTestServer } from '../support/harness.js';
import type { RunningServer } from '../../src/server.js';
import { call, newApp, newChat, walk } from '../chats/support.js';
import { ownPrefix } from './support.js';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

for (const backend of ['s3', 'fs', 'cassandra'] as const) {
  /** GET .../versions and .../versions/:v, retention by count, and bodies beyond the old 64 KiB limit. */
  describe(`message history (${backend})`, () => {
    let server: RunningServer;
    const big = backend !== 'cassandra';
    before(async () => {
      server = await startTestServer({ CHAT_BODY_STORE: backend, BODY_STORE_PREFIX: ownPrefix(`history-${backend}`),
        CHAT_HISTORY_MAX_VERSIONS: '4', CHAT_MAX_BODY_BYTES: String(big ? 2 * 1024 * 1024 : 64 * 1024),
        MAX_BODY_BYTES: String(3 * 1024 * 1024) });
    });
    after(async () => { await server?.close(); });
    const base = () => server.url;

    async function message(body: string) {
      const token = await newApp(base());
      const chat = await newChat(base(), token);
      const r = await call(base(), 'POST', `/applications/${token}/chats/${chat}/messages`, { body });
      assert.equal(r.status, 201);
      return { token, chat, path: `/applications/${token}/chats/${chat}/messages/${r.body.number}` };
    }

    it('when a message is edited, then its versions list newest first with size, digest, time and lease holder, page by page', async () => {
      const m = await message('version 1');
      const lease = await call(base(), 'POST', `${m.path}/lease`, { ttl_seconds: 60 });
      assert.equal(lease.status, 201);
      const leaseToken = lease.body.lease_token as string;
      assert.equal((await call(base(), 'PUT', m.path, { body: 'version 2 (leased)' }, { 'lease-token': leaseToken })).status, 200);
      assert.equal((await call(base(), 'DELETE', `${m.path}/lease`, undefined, { 'lease-token': leaseToken })).status, 204);
      assert.equal((await call(base(), 'PUT', m.path, { body: 'version 3 ü' })).status, 200);

      const { items, pages } = await walk(base(), `${m.path}/versions?limit=2`);
      assert.equal(pages, 2);
      assert.deepEqual(items.map((v) => v.version), [3, 2, 1]);
      assert.deepEqual(items.map((v) => v.size), [Buffer.byteLength('version 3 ü'), 18, 9]);
      assert.deepEqual(items.map((v) => v.digest), [sha256('version 3 ü'), sha256('version 2 (leased)'), sha256('version 1')]);
      assert.equal(items[0].lease_holder, null);
      assert.match(items[1].lease_holder, /^[A-Za-z0-9_-]{16}$/);
      assert.ok(!JSON.stringify(items).includes(leaseToken), 'the lease token itself is never shown');
      assert.ok(Date.parse(items[0].edited_at) >= Date.parse(items[1].edited_at));

      const current = await call(base(), 'GET', `${m.path}/versions/3`);
      assert.equal(current.status, 200);
      assert.equal(current.body.body, 'version 3 ü');
      const first = await call(base(), 'GET', `${m.path}/versions/1`);
      if (backend === 'cassandra') {
        assert.equal(first.status, 404, 'the cassandra backend keeps only the current body');
      } else {
        assert.equal(first.status, 200);
        assert.equal(first.body.body, 'version 1');
        assert.equal(first.body.digest, sha256('version 1'));
      }
    });

    it('when more versions are written than CHAT_HISTORY_MAX_VERSIONS, then only the newest are listed and older ones are 404', async () => {
      const m = await message('v1');
      for (let v = 2; v <= 6; v++) {
        assert.equal((await call(base(), 'PUT', m.path, { body: `v${v}` }, { 'if-match': `"${v - 1}"` })).status, 200);
      }
      const listed = await call(base(), 'GET', `${m.path}/versions`);
      assert.deepEqual(listed.body.map((v: { version: number }) => v.version), [6, 5, 4, 3]);
      assert.equal((await call(base(), 'GET', `${m.path}/versions/2`)).status, 404);
      assert.equal((await call(base(), 'GET', `${m.path}/versions/abc`)).status, 400);
      assert.equal((await call(base(), 'GET', `${m.path}/versions?before=x`)).status, 400);
    });

    it('when a message is deleted, then its history is 404', async () => {
      const m = await message('to delete');
      assert.equal((await call(base(), 'DELETE', m.path)).status, 204);
      assert.equal((await call(base(), 'GET', `${m.path}/versions`)).status, 404);
      assert.equal((await call(base(), 'GET', `${m.path}/versions/1`)).status, 404);
    });

    if (big) {
      it('when a body is 1.5 MiB (over the old 64 KiB limit), then create, read, list and edit carry it whole', async () => {
        const body = 'é'.repeat(768 * 1024); // 1.5 MiB of UTF-8, two bytes a character
        const m = await message(body);
        const read = await call(base(), 'GET', m.path);
        assert.equal(read.status, 200);
        assert.equal(read.body.body, body);
        const list = await call(base(), 'GET', `/applications/${m.token}/chats/${m.chat}/messages`);
        assert.equal(list.body[0].body, body);
        const edited = `${body}!`;
        assert.equal((await call(base(), 'PUT', m.path, { body: edited })).status, 200);
        assert.equal((await call(base(), 'GET', `${m.path}/versions/1`)).body.body, body);
        assert.equal((await call(base(), 'GET', m.path)).body.body, edited);
      });
    }
  });
}
