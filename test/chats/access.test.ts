import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../support/harness.js';
import type { RunningServer } from '../../src/server.js';
import { ADMIN_TOKEN, asAdmin, call, newApp, newChat, walk } from './support.js';

const unauthorized = (r: { status: number; body: { error: { code: string } }; headers: Headers }, what: string) => {
  assert.equal(r.status, 401, what);
  assert.equal(r.body.error.code, 'unauthorized', what);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer /, what);
};

describe('chat applications: the administrator\'s listing and application tokens', () => {
  let server: RunningServer;
  let base: string;
  before(async () => { server = await startTestServer({ ADMIN_TOKEN }); base = server.url; });
  after(async () => { await server.close(); });

  it('when the listing is asked without the admin token or with a wrong one, then it answers 401 with the error envelope', async () => {
    await newApp(base, 'listed');
    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
      { authorization: `Bearer ${ADMIN_TOKEN}x` },
      { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}${ADMIN_TOKEN.endsWith('A') ? 'B' : 'A'}` },
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      { authorization: ADMIN_TOKEN },
      { authorization: 'Bearer' },
      { 'x-admin-token': ADMIN_TOKEN },
    ];
    for (const prefix of ['/applications', '/api/applications']) {
      for (const headers of wrong) {
        const r = await call(base, 'GET', `${prefix}?limit=5`, undefined, headers);
        unauthorized(r, `${prefix} with ${JSON.stringify(headers)}`);
        assert.ok(!JSON.stringify(r.body).includes('"token"'), 'no application in a refusal');
      }
    }
  });

  it('when the listing is asked with the admin token, then both mounts answer 200 with every application', async () => {
    const token = await newApp(base, 'mine');
    for (const prefix of ['/applications', '/api/applications']) {
      const { items } = await walk(base, `${prefix}?limit=500`, asAdmin);
      assert.ok(items.some((a) => a.token === token && a.name === 'mine'), `${prefix} lists it`);
    }
    // RFC 9110: the scheme name is case-insensitive.
    assert.equal((await call(base, 'GET', '/applications?limit=1', undefined,
      { authorization: `bearer ${ADMIN_TOKEN}` })).status, 200);
  });

  it('when an application\'s own routes are called with its token alone, then they work as before', async () => {
    const token = await newApp(base, 'own');
    for (const prefix of ['/applications', '/api/applications']) {
      assert.equal((await call(base, 'GET', `${prefix}/${token}`)).status, 200);
      assert.equal((await call(base, 'PATCH', `${prefix}/${token}`, { name: 'own' })).status, 200);
      assert.equal((await call(base, 'GET', `${prefix}/${token}/chats`)).status, 200);
    }
    const chat = await newChat(base, token);
    const posted = await call(base, 'POST', `/api/applications/${token}/chats/${chat}/messages`, { body: 'hi' });
    assert.equal(posted.status, 201);
    assert.equal((await call(base, 'GET', `/applications/${token}/chats/${chat}/messages/1`)).body.body, 'hi');
    // A wrong admin header on them changes nothing: they are not administrator calls.
    assert.equal((await call(base, 'GET', `/applications/${token}`, undefined, { authorization: 'Bearer nope' })).status, 200);
  });
});

describe('chat applications: no ADMIN_TOKEN configured', () => {
  let server: RunningServer;
  before(async () => { server = await startTestServer({ ADMIN_TOKEN: '' }); });
  after(async () => { await server.close(); });

  it('when ADMIN_TOKEN is unset, then the listing answers 401 to everyone, whatever is sent', async () => {
    for (const headers of [{}, asAdmin, { authorization: 'Bearer ' }]) {
      unauthorized(await call(server.url, 'GET', '/applications', undefined, headers), JSON.stringify(headers));
    }
    assert.equal((await call(server.url, 'POST', '/applications', { name: 'still' })).status, 201);
  });
});

describe('chat applications: POST /applications rate limit per client', () => {
  let server: RunningServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  it('when one client creates more than the default burst (30), then the next create is 429 with Retry-After, on either mount, and another client is not limited', async () => {
    const statuses: number[] = [];
    // Both mounts draw on one allowance; a refused body counts too (it cost the service a parse).
    for (let i = 0; i < 30; i++) {
      const prefix = i % 2 ? '/api/applications' : '/applications';
      statuses.push((await call(server.url, 'POST', prefix, i === 5 ? {} : { name: `burst ${i}` })).status);
    }
    assert.equal(statuses.filter((s) => s === 201).length, 29);
    assert.equal(statuses[5], 400);
    for (const prefix of ['/applications', '/api/applications']) {
      const r = await call(server.url, 'POST', prefix, { name: 'one too many' });
      assert.equal(r.status, 429, prefix);
      assert.equal(r.body.error.code, 'rate_limited');
      // 10 per minute: one create every 6 s.
      const wait = Number(r.headers.get('retry-after'));
      assert.ok(wait >= 1 && wait <= 6, `Retry-After ${wait}`);
    }
    // The client is the X-Forwarded-For entry the ingress appended (the rightmost): addresses the client puts in
    // front of it are no new client. Here 203.0.113.7 plays the ingress's entry for a second client.
    for (const spoofed of ['198.51.100.1', '198.51.100.2']) {
      const r = await call(server.url, 'POST', '/applications', { name: 'spoofed' },
        { 'x-forwarded-for': `${spoofed}, 127.0.0.1` });
      assert.equal(r.status, 429, `spoofed ${spoofed} in front of the limited client's address`);
    }
    const other = await call(server.url, 'POST', '/applications', { name: 'other' },
      { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' });
    assert.equal(other.status, 201);
    // Only creates are limited: the limited client still reads and writes inside its applications.
    const token = other.body.token as string;
    assert.equal((await call(server.url, 'POST', `/applications/${token}/chats`)).status, 201);
  });
});

describe('chat applications: configured creates limit', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ RATE_LIMIT_APPLICATION_CREATES_PER_MINUTE: '60', RATE_LIMIT_APPLICATION_CREATES_BURST: '2' });
  });
  after(async () => { await server.close(); });

  it('when the limit is configured to 60/min with a burst of 2, then the third create at once is 429 and one second later a create passes', async () => {
    const first = [await newApp(server.url), await newApp(server.url)];
    assert.equal(first.length, 2);
    const refused = await call(server.url, 'POST', '/applications', { name: 'third' });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await call(server.url, 'POST', '/applications', { name: 'later' })).status, 201);
  });
});
