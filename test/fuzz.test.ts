import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { getJson, startTestServer, uniqueUser, type Listed } from './support/harness.js';
import type { RunningServer } from '../src/server.js';


/** Property tests of the HTTP layer against the real stack. */
describe('HTTP layer properties', () => {
  let server: RunningServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  const post = (body: string | Uint8Array, type = 'application/json') =>
    fetch(`${server.url}/chat`, { method: 'POST', headers: { 'content-type': type }, body });

  it('when the body is random bytes, then the answer is a JSON 4xx (or, for bytes that form a valid message, 201), never a 5xx', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
      const res = await post(bytes);
      const body = await res.json() as { error?: { code: string } };
      if (res.status === 201) {
        // Random bytes that happen to be a valid message are fine, but astronomically unlikely.
        return;
      }
      assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
      assert.ok(body.error?.code);
    }), { numRuns: 150 });
  });

  it('when the body is random JSON, then it is either a valid message (201) or a 4xx, never a 5xx', async () => {
    const user = uniqueUser('fuzz');
    let accepted = 0;
    await fc.assert(fc.asyncProperty(
      fc.oneof(
        fc.jsonValue(),
        fc.record({ username: fc.oneof(fc.constant(user), fc.jsonValue()), text: fc.jsonValue(), timeout: fc.jsonValue() },
          { requiredKeys: [] }),
      ),
      async (value) => {
        const res = await post(JSON.stringify(value));
        assert.ok(res.status === 201 || (res.status >= 400 && res.status < 500), `status ${res.status} for ${JSON.stringify(value)}`);
        if (res.status === 201) accepted++;
      }), { numRuns: 200 });
    const pending = (await getJson<Listed>(`${server.url}/chats/${user}`)).body;
    assert.ok(pending.length <= accepted, 'only accepted messages were stored');
  });

  it('when valid random messages are posted, then unicode usernames and texts round-trip exactly', async () => {
    const prefix = uniqueUser('rt');
    const unicode = (min: number, max: number) => fc.string({ unit: 'grapheme', minLength: min, maxLength: max });
    await fc.assert(fc.asyncProperty(
      unicode(1, 40), unicode(1, 2000), fc.integer({ min: 1, max: 604_800 }),
      async (name, text, timeout) => {
        const username = `${prefix}${name}`.slice(0, 128);
        if ([...username].length > 128) return;
        const res = await post(JSON.stringify({ username, text, timeout }));
        assert.equal(res.status, 201);
        const { id } = await res.json() as { id: number };
        const got = await getJson<{ username: string; text: string }>(`${server.url}/chat/${id}`);
        assert.equal(got.body.username, username);
        assert.equal(got.body.text, text);
        const listed = await getJson<Listed>(`${server.url}/chats/${encodeURIComponent(username)}`);
        assert.deepEqual(listed.body, [{ id, text }]);
      }), { numRuns: 60 });
  });

  it('when paths are random, then no answer is a 5xx', async () => {
    await fc.assert(fc.asyncProperty(fc.webPath(), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), async (path, method) => {
      const res = await fetch(`${server.url}${path.startsWith('/') ? path : `/${path}`}`, { method });
      await res.arrayBuffer();
      assert.ok(res.status < 500, `${method} ${path} -> ${res.status}`);
    }), { numRuns: 200 });
  });
});
