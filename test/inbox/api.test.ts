import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { contractFetch, startTestServer, uniqueUser, postChat, getJson, type Listed, type MessageView } from '../support/harness.js';
import type { RunningServer } from '../../src/server.js';

const DATE_FORMAT = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

describe('message API contract', () => {
  let server: RunningServer;
  let url: string;
  before(async () => { server = await startTestServer(); url = server.url; });
  after(async () => { await server.close(); });

  it('when a message is posted, then 201 carries an integer id and GET /chat/:id returns it with its UTC expiry', async () => {
    const user = uniqueUser();
    const before = Date.now();
    const res = await postChat(url, { username: user, text: 'This is a message', timeout: 120 });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body), ['id']);
    assert.ok(Number.isSafeInteger(res.body.id), 'id is a JSON integer');
    const got = await getJson<MessageView>(`${url}/chat/${res.body.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(Object.keys(got.body).sort(), ['expiration_date', 'text', 'username']);
    assert.equal(got.body.username, user);
    assert.equal(got.body.text, 'This is a message');
    assert.match(got.body.expiration_date, DATE_FORMAT);
    const expiry = Date.parse(`${got.body.expiration_date.replace(' ', 'T')}Z`);
    assert.ok(Math.abs(expiry - (before + 120_000)) < 3000, `expiry ${got.body.expiration_date} is about now + 120 s`);
  });

  it('when timeout is omitted, then the message lives 60 seconds', async () => {
    const before = Date.now();
    const res = await postChat(url, { username: uniqueUser(), text: 'default timeout' });
    assert.equal(res.status, 201);
    const got = await getJson<MessageView>(`${url}/chat/${res.body.id}`);
    const expiry = Date.parse(`${got.body.expiration_date.replace(' ', 'T')}Z`);
    assert.ok(Math.abs(expiry - (before + 60_000)) < 3000);
  });

  it('when messages are listed, then every unexpired one comes back oldest first, once, and GET by id shows the read time', async () => {
    const user = uniqueUser();
    const ids: number[] = [];
    for (const text of ['one', 'two', 'three']) ids.push((await postChat(url, { username: user, text, timeout: 600 })).body.id as number);
    const first = await getJson<Listed>(`${url}/chats/${encodeURIComponent(user)}`);
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, [{ id: ids[0], text: 'one' }, { id: ids[1], text: 'two' }, { id: ids[2], text: 'three' }]);
    const readAt = Date.now();
    const second = await getJson<Listed>(`${url}/chats/${encodeURIComponent(user)}`);
    assert.deepEqual(second.body, [], 'a listed message is never listed again');
    const got = await getJson<MessageView>(`${url}/chat/${ids[1]}`);
    assert.equal(got.status, 200, 'a consumed message is still found by id');
    const expiry = Date.parse(`${got.body.expiration_date.replace(' ', 'T')}Z`);
    assert.ok(Math.abs(expiry - readAt) < 3000, 'its expiration_date became the moment it was read');
  });

  it('when texts are too large to share a batch, then they are stored, listed once and read back like small ones', async () => {
    const user = uniqueUser('big');
    const texts = [...Array.from({ length: 3 }, (_, i) => `${i}`.repeat(6000)), 'small one', 'small two'];
    const ids: number[] = [];
    for (const text of texts) ids.push((await postChat(url, { username: user, text, timeout: 600 })).body.id as number);
    const listed = await getJson<Listed>(`${url}/chats/${encodeURIComponent(user)}`);
    const readAt = Date.now();
    assert.deepEqual(listed.body, ids.map((id, i) => ({ id, text: texts[i] })));
    for (const [i, id] of ids.entries()) {
      const got = await getJson<MessageView>(`${url}/chat/${id}`);
      assert.equal(got.body.text, texts[i]);
      assert.ok(Math.abs(Date.parse(`${got.body.expiration_date.replace(' ', 'T')}Z`) - readAt) < 3000, 'expiry is the read time');
      const cold = await server.db.raw(`SELECT reason FROM ${server.db.cold}.messages WHERE id = ?`, [id]);
      assert.equal(cold.first()?.get('reason'), 'read', 'the consumed message is in cold storage');
    }
    assert.deepEqual((await getJson<Listed>(`${url}/chats/${encodeURIComponent(user)}`)).body, []);
  });

  it('when a consumed message has left hot storage, then GET by id answers from cold with the read time', async () => {
    const user = uniqueUser();
    const id = (await postChat(url, { username: user, text: 'aged out', timeout: 600 })).body.id as number;
    await getJson<Listed>(`${url}/chats/${encodeURIComponent(user)}`);
    const readAt = Date.now();
    // What the hot row's TTL does after the grace period, done now.
    await server.db.raw(`DELETE FROM ${server.db.hot}.messages_by_id WHERE id = ?`, [id]);
    const got = await getJson<MessageView>(`${url}/chat/${id}`);
    assert.equal(got.status, 200);
    assert.deepEqual([got.body.username, got.body.text], [user, 'aged out']);
    assert.ok(Math.abs(Date.parse(`${got.body.expiration_date.replace(' ', 'T')}Z`) - readAt) < 3000);
  });

  it('when a user has no messages, then the list is an empty JSON array', async () => {
    const res = await getJson<Listed>(`${url}/chats/${uniqueUser('nobody')}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, []);
  });

  it('when a message has timed out, then it is not listed but GET by id reports its real expiration', async () => {
    const user = uniqueUser();
    const expired = await postChat(url, { username: user, text: 'gone', timeout: 0 });
    const short = await postChat(url, { username: user, text: 'soon gone', timeout: 1 });
    const live = await postChat(url, { username: user, text: 'alive', timeout: 600 });
    await new Promise((r) => setTimeout(r, 1500));
    const list = await getJson<Listed>(`${url}/chats/${user}`);
    assert.deepEqual(list.body, [{ id: live.body.id, text: 'alive' }]);
    for (const m of [expired, short]) {
      const got = await getJson<MessageView>(`${url}/chat/${m.body.id}`);
      assert.equal(got.status, 200);
      assert.ok(Date.parse(`${got.body.expiration_date.replace(' ', 'T')}Z`) < Date.now());
    }
  });

  it('when usernames and texts use any UTF-8, then they round-trip exactly', async () => {
    const user = `émoji 🐙 / ? # % ${uniqueUser()}`;
    const text = 'Здравствуйте 👋 "quotes" \\ back\nslash \u0000 nul';
    const created = await postChat(url, { username: user, text });
    assert.equal(created.status, 201);
    const got = await getJson<MessageView>(`${url}/chat/${created.body.id}`);
    assert.equal(got.body.username, user);
    assert.equal(got.body.text, text);
    const list = await getJson<Listed>(`${url}/chats/${encodeURIComponent(user)}`);
    assert.deepEqual(list.body, [{ id: created.body.id, text }]);
  });

  it('when an id is unknown, then 404 with a JSON error', async () => {
    const res = await getJson<{ error: { code: string } }>(`${url}/chat/12345`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
  });

  it('when an id is not a number, then 400, never 5xx', async () => {
    for (const bad of ['abc', '-1', '1.5', '99999999999999999999', '%zz', '1e3']) {
      const res = await contractFetch(`${url}/chat/${bad}`);
      assert.equal(res.status, 400, `id ${bad}`);
      const body = await res.json() as { error: { code: string; message: string } };
      assert.ok(body.error.code && body.error.message);
    }
  });

  it('when a route does not exist or the method is wrong, then a JSON 404/405', async () => {
    const missing = await contractFetch(`${url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
    const wrong = await contractFetch(`${url}/chat`, { method: 'GET' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.ok(((await wrong.json()) as { error: object }).error);
    const unknown = await contractFetch(`${url}/chat`, { method: 'PROPFIND' });
    assert.equal(unknown.status, 501);
  });

  const badBodies: Array<[string, unknown, string]> = [
    ['malformed JSON', '{"username": "a", ', 'invalid_json'],
    ['a JSON array', '[1,2]', 'invalid_body'],
    ['a JSON string', '"hello"', 'invalid_json'],
    ['null', 'null', 'invalid_json'],
    ['no username', { text: 'x' }, 'invalid_username'],
    ['an empty username', { username: '', text: 'x' }, 'invalid_username'],
    ['a numeric username', { username: 7, text: 'x' }, 'invalid_username'],
    ['no text', { username: 'u' }, 'invalid_text'],
    ['an empty text', { username: 'u', text: '' }, 'invalid_text'],
    ['an object text', { username: 'u', text: { a: 1 } }, 'invalid_text'],
    ['a string timeout', { username: 'u', text: 'x', timeout: '60' }, 'invalid_timeout'],
    ['a negative timeout', { username: 'u', text: 'x', timeout: -1 }, 'invalid_timeout'],
    ['a fractional timeout', { username: 'u', text: 'x', timeout: 1.5 }, 'invalid_timeout'],
    ['a timeout above the maximum', { username: 'u', text: 'x', timeout: 604_801 }, 'invalid_timeout'],
    ['a too long username', { username: 'u'.repeat(129), text: 'x' }, 'invalid_username'],
    ['a too long text', { username: 'u', text: 'x'.repeat(64 * 1024 + 1) }, 'invalid_text'],
    ['a lone surrogate in text', '{"username":"u","text":"\\ud800"}', 'invalid_text'],
  ];
  for (const [what, body, code] of badBodies) {
    it(`when the body is ${what}, then 400 ${code} and nothing is stored`, async () => {
      const user = uniqueUser('bad');
      const payload = typeof body === 'object' && body !== null && !Array.isArray(body) && 'username' in body && body.username === 'u'
        ? { ...body, username: user } : body;
      const res = await postChat(url, payload);
      assert.equal(res.status, 400);
      assert.equal((res.body.error as { code: string }).code, code);
      const list = await getJson<Listed>(`${url}/chats/${user}`);
      assert.deepEqual(list.body, []);
    });
  }

  it('when the content type is one the service cannot read (XML), then 415', async () => {
    const res = await contractFetch(`${url}/chat`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<a/>' });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unsupported_media_type');
  });

  it('when the body is over the size limit, then 413', async () => {
    const res = await postChat(url, { username: 'u', text: 'x'.repeat(300 * 1024) });
    assert.equal(res.status, 413);
    assert.equal((res.body.error as { code: string }).code, 'payload_too_large');
  });

  it('when any response is sent, then it carries security headers and a request id', async () => {
    const res = await contractFetch(`${url}/healthz`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.ok(res.headers.get('x-request-id'));
  });
});
