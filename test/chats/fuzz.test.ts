import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestServer } from '../support/harness.js';
import type { RunningServer } from '../../src/server.js';
import { call, newApp, newChat, walk } from './support.js';

/** Property tests of the chat-applications HTTP layer against the real stack. */
describe('chat applications: random input', () => {
  let server: RunningServer;
  let token: string;
  let chat: number;
  before(async () => {
    server = await startTestServer();
    token = await newApp(server.url);
    chat = await newChat(server.url, token);
  });
  after(async () => { await server.close(); });

  it('when message bodies are random JSON, then each is a 201 or a JSON 4xx, and exactly the accepted ones are stored', async () => {
    let accepted = 0;
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.jsonValue(), fc.record({ body: fc.jsonValue() }), fc.record({ body: fc.string({ unit: 'grapheme', maxLength: 40 }) })),
      async (value) => {
        const r = await call(server.url, 'POST', `/applications/${token}/chats/${chat}/messages`, JSON.stringify(value));
        assert.ok(r.status === 201 || (r.status >= 400 && r.status < 500), `status ${r.status} for ${JSON.stringify(value)}`);
        if (r.status === 201) {
          accepted += 1;
          assert.equal(r.body.body, (value as { body: string }).body, 'the body round-trips exactly');
        } else {
          assert.equal(typeof r.body.error.code, 'string');
        }
      }), { numRuns: 150 });
    const stored = (await walk(server.url, `/applications/${token}/chats/${chat}/messages?limit=500`)).items;
    assert.equal(stored.length, accepted);
  });

  it('when path segments and query strings are random, then the answer is never a 5xx', async () => {
    const segment = fc.oneof(fc.string({ maxLength: 40 }), fc.constant(token), fc.integer().map(String), fc.constant(String(chat)));
    await fc.assert(fc.asyncProperty(segment, segment, fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }),
      async (a, b, limit, after) => {
        const qs = `?limit=${encodeURIComponent(limit)}&after=${encodeURIComponent(after)}&cursor=${encodeURIComponent(limit)}`;
        for (const path of [`/applications/${encodeURIComponent(a)}${qs}`, `/api/applications/${encodeURIComponent(a)}/chats/${encodeURIComponent(b)}/messages${qs}`,
          `/applications${qs}`, `/applications/${token}/chats/${encodeURIComponent(b)}`]) {
          const r = await call(server.url, 'GET', path);
          assert.ok(r.status < 500, `status ${r.status} for ${path}`);
        }
      }), { numRuns: 100 });
  });

  it('when If-Match, Lease-Token and lease bodies are random, then edits, deletes and leases answer as documented, never a 5xx', async () => {
    const posted = await call(server.url, 'POST', `/applications/${token}/chats/${chat}/messages`, { body: 'fuzzed' });
    const path = `/applications/${token}/chats/${chat}/messages/${posted.body.number}`;
    const header = fc.oneof(fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      fc.constantFrom('*', '"1"', 'W/"1"', '"1", "2"', '""', 'A'.repeat(22)));
    const leaseBody = fc.oneof(fc.record({ ttl_seconds: fc.oneof(fc.integer({ min: -5, max: 400 }), fc.string(), fc.constant(null)) }),
      fc.constant(undefined));
    await fc.assert(fc.asyncProperty(header, header, leaseBody, fc.constantFrom('PUT', 'PATCH', 'DELETE'),
      async (ifMatch, lease, body, method) => {
        const headers = { 'if-match': ifMatch, 'lease-token': lease };
        for (const [m, p, b] of [[method, path, method === 'DELETE' ? undefined : { body: 'x' }],
          ['POST', `${path}/lease`, body], ['PUT', `${path}/lease`, body], ['DELETE', `${path}/lease`, undefined]] as const) {
          const r = await call(server.url, m, p, b, headers);
          assert.ok(r.status < 500, `status ${r.status} for ${m} ${p}`);
        }
      }), { numRuns: 60 });
  });
});
