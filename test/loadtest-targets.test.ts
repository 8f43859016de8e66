/**
 * The vegeta target generator of `make loadtest` (loadtest/vegeta/): the request mix, the request shapes and the
 * settings it is given. The attack itself runs in `make loadtest-smoke` against a real service.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../loadtest/vegeta/config.js';
import { mixTargets, streamTargets } from '../loadtest/vegeta/targets.js';
import { chatTargets } from '../loadtest/vegeta/chat-targets.js';
import { endpointOf, type Endpoint } from '../loadtest/vegeta/shapes.js';

interface Target { method: string; url: string; body?: string; header?: Record<string, string[]> }

describe('vegeta targets', () => {
  const cfg = loadConfig('mix', { BASE_URL: 'http://127.0.0.1:9/', USERS: '1000' });
  const seeded = [11, 22, 33];

  it('when 20 000 targets are drawn, then the mix is 50 / 30 / 20 and users follow Zipf', () => {
    const next = mixTargets(cfg, seeded);
    const counts: Record<Endpoint, number> = { create: 0, get: 0, list: 0, chat_create: 0, chat_list: 0, chat_search: 0 };
    const users = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const t = JSON.parse(next()) as Target;
      const ep = endpointOf(t.method, t.url);
      assert.ok(ep, `unexpected target ${t.method} ${t.url}`);
      counts[ep]++;
      if (ep === 'create') {
        const body = JSON.parse(Buffer.from(t.body!, 'base64').toString('utf8')) as { username: string; text: string };
        assert.deepEqual(t.header, { 'Content-Type': ['application/json'] });
        assert.ok(body.text.length > 0);
        users.set(body.username, (users.get(body.username) ?? 0) + 1);
      }
      if (ep === 'get') assert.ok(seeded.includes(Number(t.url.split('/').pop())), t.url);
      assert.ok(t.url.startsWith('http://127.0.0.1:9/ch'), 'the base URL loses its trailing slash');
    }
    assert.ok(Math.abs(counts.create / 20_000 - 0.5) < 0.02, JSON.stringify(counts));
    assert.ok(Math.abs(counts.get / 20_000 - 0.3) < 0.02, JSON.stringify(counts));
    assert.ok(Math.abs(counts.list / 20_000 - 0.2) < 0.02, JSON.stringify(counts));
    // Zipf(1) over 1000 users: the top user has weight 1 / H(1000) = 13 % of the creates.
    const top = (users.get('lt-user-1') ?? 0) / counts.create;
    assert.ok(top > 0.1 && top < 0.16, `top user share ${top}`);
  });

  it('when the reader stops early, then streaming ends without an error', async () => {
    const out = new PassThrough({ highWaterMark: 1024 });
    let read = 0;
    out.on('data', (c: Buffer) => { read += c.length; if (read > 4096) out.destroy(); });
    const written = await streamTargets(out, mixTargets(cfg, seeded), 100_000);
    assert.ok(written < 100_000, `wrote ${written}`);
  });

  it('when settings are invalid, then the error names each of them', () => {
    assert.throws(() => loadConfig('mix', { RATE: 'fast', DURATION: '1 minute', PCT_CREATE: '80', PCT_GET: '30' }),
      (e: Error) => /RATE="fast"/.test(e.message) && /DURATION="1 minute"/.test(e.message) && /PCT_CREATE \+ PCT_GET = 110/.test(e.message));
  });

  it('when nothing is set, then the smoke runs 20 req/s for 10 s with every response checked', () => {
    const s = loadConfig('smoke', {});
    assert.deepEqual([s.rate, s.durationS, s.checkShapes, s.p95, s.p99], [20, 10, true, 500, 1000]);
    assert.equal(loadConfig('mix', {}).summaryPath, 'loadtest/results/mix-1000rps.json');
  });

  it('when the targets are a chat endpoint, then every request goes to the one seeded chat and is classified', () => {
    const seed = { chatUrl: 'http://127.0.0.1:9/applications/tok_1/chats/3', messages: 600, marker: 'm' };
    const expect = { 'chat-create': 'chat_create', 'chat-list': 'chat_list', 'chat-search': 'chat_search' } as const;
    for (const [kind, ep] of Object.entries(expect)) {
      const next = chatTargets(loadConfig('mix', { TARGETS: kind }), seed);
      for (let i = 0; i < 500; i++) {
        const t = JSON.parse(next()) as Target;
        assert.equal(endpointOf(t.method, t.url), ep, `${kind}: ${t.method} ${t.url}`);
        assert.ok(t.url.startsWith(seed.chatUrl), t.url);
        if (ep === 'chat_create') assert.ok((JSON.parse(Buffer.from(t.body!, 'base64').toString('utf8')) as { body: string }).body.length > 0);
        if (ep === 'chat_list') assert.ok(Number(new URL(t.url).searchParams.get('after')) <= 550, t.url);
        if (ep === 'chat_search') assert.ok((new URL(t.url).searchParams.get('q') ?? '').length > 0, t.url);
      }
    }
    assert.equal(endpointOf('GET', 'http://x/api/applications/t/chats/1/search?q=a'), 'chat_search');
    assert.equal(endpointOf('DELETE', 'http://x/applications/t/chats/1/messages'), null);
  });

  it('when TARGETS is unknown or used with the smoke, then the settings are refused by name', () => {
    assert.throws(() => loadConfig('mix', { TARGETS: 'chat-delete' }), /TARGETS="chat-delete"/);
    assert.throws(() => loadConfig('smoke', { TARGETS: 'chat-list' }), /TARGETS: the smoke checks the inbox only/);
    assert.equal(loadConfig('mix', { TARGETS: 'chat-search', RATE: '300' }).summaryPath, 'loadtest/results/chat-search-300rps.json');
  });
});
