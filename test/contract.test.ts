import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, testConfig } from './support/harness.js';
import { checkResponse } from './support/contract.js';
import { openApiDocument } from '../src/http/openapi/document.js';
import { openApiSettings } from '../src/settings.js';
import type { RunningServer } from '../src/server.js';

/** The contract check itself: a response the document does not describe must fail (so the suites it guards can). */
describe('OpenAPI contract check', () => {
  let server: RunningServer;
  const json = (extra: Record<string, string> = {}) =>
    new Headers({ 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r1', ...extra });
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  it('when /openapi.json is fetched, then it is the OpenAPI 3.1 document built from the configuration', async () => {
    const res = await fetch(`${server.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^application\/json/);
    const served = await res.json() as { openapi: string; paths: Record<string, unknown> };
    assert.deepEqual(served, JSON.parse(JSON.stringify(openApiDocument(openApiSettings(testConfig())))));
    assert.equal(served.openapi, '3.1.0');
    assert.deepEqual(Object.keys(served.paths).filter((p) => p.startsWith('/chat')), ['/chat', '/chat/{id}', '/chats/{username}']);
  });

  it('when a response matches the document, then the check passes', async () => {
    await checkResponse('GET', `${server.url}/healthz`, 200, json(), '{"status":"ok"}');
    await checkResponse('POST', `${server.url}/chat`, 503, json({ 'retry-after': '1' }),
      '{"error":{"code":"unavailable","message":"storage is unavailable, retry later"}}');
  });

  const broken: Array<[string, () => Promise<void>, RegExp]> = [
    ['an undocumented status', () => checkResponse('POST', `${server.url}/chat`, 418, json(), '{}'), /status 418 is not documented/],
    ['a body off its schema', () => checkResponse('GET', `${server.url}/healthz`, 200, json(), '{"status":"fine"}'), /does not match/],
    ['an extra field', () => checkResponse('POST', `${server.url}/chat`, 201, json(), '{"id":1,"extra":true}'), /does not match/],
    ['an error code the operation does not list', () => checkResponse('POST', `${server.url}/chat`, 400, json(),
      '{"error":{"code":"invalid_id","message":"x"}}'), /does not match/],
    ['a missing required header (Retry-After on 503)', () => checkResponse('POST', `${server.url}/chat`, 503, json(),
      '{"error":{"code":"unavailable","message":"x"}}'), /Retry-After is missing/],
    ['a missing X-Request-Id', () => checkResponse('GET', `${server.url}/healthz`, 200,
      new Headers({ 'content-type': 'application/json' }), '{"status":"ok"}'), /X-Request-Id is missing/],
    ['an undocumented content type', () => checkResponse('GET', `${server.url}/healthz`, 200,
      new Headers({ 'content-type': 'text/html', 'x-request-id': 'r' }), '<p>ok</p>'), /content type "text\/html" is not documented/],
    ['a 200 on an undocumented path', () => checkResponse('GET', `${server.url}/secret`, 200, json(), '{}'), /only 404 may answer/],
    ['a 200 for an undocumented method', () => checkResponse('DELETE', `${server.url}/chat/1`, 200, json(), '{}'), /only 405\/501/],
  ];
  for (const [what, check, message] of broken) {
    it(`when a response has ${what}, then the check fails`, async () => {
      await assert.rejects(check, message);
    });
  }
});
