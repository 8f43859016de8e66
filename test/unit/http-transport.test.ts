/**
 * The OpenSearch client's transport (src/search/http-transport.ts) against a real node:http server on port 0:
 * keep-alive reuse, the one resend after a reused socket was reset, the deadline, and a refused connection.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { send, TransportError } from '../../src/search/http-transport.js';

describe('http transport', () => {
  const perSocket = new Map<unknown, number>();
  let requests = 0;
  let resetSecond = false;
  const server = http.createServer((req, res) => {
    requests++;
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    if (req.url === '/slow') return; // never answers
    if (resetSecond && n === 2) { req.socket.destroy(); return; }
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => res.end(JSON.stringify({ n, body })));
  });
  let base = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => { server.closeAllConnections(); server.close(); });
  const post = (path: string, timeoutMs = 2000) =>
    send(new URL(`${base}${path}`), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"q":1}', timeoutMs });

  it('when two requests follow each other, then the second reuses the first one\'s socket and bodies arrive whole', async () => {
    const first = JSON.parse((await post('/a')).text) as { n: number; body: string };
    const second = JSON.parse((await post('/a')).text) as { n: number; body: string };
    assert.deepEqual([first.body, second.n > first.n], ['{"q":1}', true]);
  });

  it('when a reused socket is reset before the answer, then the request is sent once more on a fresh socket', async () => {
    server.closeAllConnections();
    perSocket.clear();
    resetSecond = true;
    try {
      assert.equal((await post('/b')).status, 200);
      const before = requests;
      const res = await post('/b');
      assert.equal(res.status, 200);
      assert.equal((JSON.parse(res.text) as { n: number }).n, 1, 'answered on a new socket');
      assert.equal(requests - before, 2, 'the reset request and its one resend');
    } finally { resetSecond = false; }
  });

  it('when the server does not answer in time, then a TransportError names the deadline', async () => {
    await assert.rejects(post('/slow', 150), (e: Error) => e instanceof TransportError && /no answer within 150 ms/.test(e.message));
  });

  it('when nothing listens, then a TransportError names the refusal', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(send(new URL(`http://127.0.0.1:${port}/`), { method: 'GET', headers: {}, timeoutMs: 1000 }),
      (e: Error) => e instanceof TransportError && e.message === 'ECONNREFUSED');
  });
});
