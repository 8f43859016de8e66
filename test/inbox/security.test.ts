import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { contractFetch, getJson, postChat, startTestServer, uniqueUser, type Listed } from '../support/harness.js';
import type { RunningServer } from '../../src/server.js';


describe('idempotent creates', () => {
  let server: RunningServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  it('when a POST is retried with the same Idempotency-Key, then the same id comes back and one message exists', async () => {
    const user = uniqueUser('idem');
    const key = `key-${user}`;
    const body = { username: user, text: 'once', timeout: 600 };
    const first = await postChat(server.url, body, { 'idempotency-key': key });
    const again = await postChat(server.url, body, { 'idempotency-key': key });
    assert.equal(first.status, 201);
    assert.equal(again.status, 201);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual((await getJson<Listed>(`${server.url}/chats/${user}`)).body, [{ id: first.body.id, text: 'once' }]);
  });

  it('when concurrent retries race with one key, then they all get one id', async () => {
    const user = uniqueUser('idem-race');
    const body = { username: user, text: 'racy', timeout: 600 };
    const results = await Promise.all(Array.from({ length: 6 }, () => postChat(server.url, body, { 'idempotency-key': `race-${user}` })));
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
    assert.equal(ids.size, 1, 'one id for every successful attempt');
    for (const r of results) assert.ok([201, 409].includes(r.status), `status ${r.status}`);
    assert.equal((await getJson<Listed>(`${server.url}/chats/${user}`)).body.length, 1);
  });

  it('when a key is reused with a different body, then 422 and nothing new is stored', async () => {
    const user = uniqueUser('idem-reuse');
    await postChat(server.url, { username: user, text: 'a' }, { 'idempotency-key': `k-${user}` });
    const reused = await postChat(server.url, { username: user, text: 'b' }, { 'idempotency-key': `k-${user}` });
    assert.equal(reused.status, 422);
    assert.equal((reused.body.error as { code: string }).code, 'idempotency_key_reused');
    assert.deepEqual((await getJson<Listed>(`${server.url}/chats/${user}`)).body.map((m) => m.text), ['a']);
  });

  it('when the key is malformed, then 400', async () => {
    const res = await postChat(server.url, { username: 'u', text: 'x' }, { 'idempotency-key': 'has space' });
    assert.equal(res.status, 400);
  });
});

describe('rate limiting (opt-in)', () => {
  let server: RunningServer;
  before(async () => { server = await startTestServer({ RATE_LIMIT_CLIENT_RPS: '5', RATE_LIMIT_BURST_SECONDS: '1' }); });
  after(async () => { await server.close(); });

  it('when a client exceeds its rate, then 429 with Retry-After, and probes are never limited', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 12; i++) {
      const res = await contractFetch(`${server.url}/chat/1`);
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    assert.ok(statuses.includes(429), `statuses ${statuses.join(',')}`);
    assert.ok(Number(retryAfter) >= 1);
    assert.equal((await contractFetch(`${server.url}/readyz`)).status, 200);
  });
});

describe('bearer-token mode (opt-in)', () => {
  const secret = 'a-test-secret-that-is-long-enough-0123456789';
  let server: RunningServer;
  before(async () => { server = await startTestServer({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: secret }); });
  after(async () => { await server.close(); });
  const token = (sub: string) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub)
    .setExpirationTime('5m').sign(new TextEncoder().encode(secret));

  it('when the list is read without, with a foreign, or with the owner\'s token, then 401, 403, 200', async () => {
    const user = uniqueUser('auth');
    await postChat(server.url, { username: user, text: 'private' });
    assert.equal((await contractFetch(`${server.url}/chats/${user}`)).status, 401);
    const bad = await contractFetch(`${server.url}/chats/${user}`, { headers: { authorization: 'Bearer x.y.z' } });
    assert.equal(bad.status, 401);
    const foreign = await contractFetch(`${server.url}/chats/${user}`, { headers: { authorization: `Bearer ${await token('someone-else')}` } });
    assert.equal(foreign.status, 403);
    const own = await contractFetch(`${server.url}/chats/${user}`, { headers: { authorization: `Bearer ${await token(user)}` } });
    assert.equal(own.status, 200);
    assert.deepEqual(((await own.json()) as Listed).map((m) => m.text), ['private']);
  });
});
