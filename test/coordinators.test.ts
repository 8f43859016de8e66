import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureSchema, postChat, uniqueUser } from './support/harness.js';
import { spawnService } from './support/processes.js';

/** The access log's line for one request id, once the buffered log has written it. */
async function requestLine(logs: string[], reqId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const line = logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'request' && l.reqId === reqId);
    if (line) return line;
    assert.ok(Date.now() < deadline, `a request log line for ${reqId}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the access log names the Cassandra coordinators of each request', () => {
  before(() => ensureSchema());

  it('when a create is served, then its log line lists the node that coordinated its statements; a probe that runs none lists nothing', async () => {
    const svc = await spawnService();
    try {
      const res = await postChat(svc.url, { username: uniqueUser('coord'), text: 'who coordinated me' }, { 'x-request-id': 'op-7' });
      assert.equal(res.status, 201);
      const line = await requestLine(svc.logs, 'op-7');
      assert.deepEqual(line.db, ['127.0.0.1:9042']);
      const missing = await fetch(`${svc.url}/nothing-here`, { headers: { 'x-request-id': 'op-8' } });
      assert.equal(missing.status, 404);
      assert.equal((await requestLine(svc.logs, 'op-8')).db, undefined);
    } finally {
      await svc.stop();
    }
  });
});
