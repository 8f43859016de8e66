import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureSchema, getJson, postChat, uniqueUser } from '../support/harness.js';
import { spawnService, type ServiceProcess } from '../support/processes.js';

const run = promisify(execFile);
const cassandra = (cmd: 'up' | 'down') => run('scripts/dev/cassandra.sh', [cmd], { timeout: 600_000 });

/** Stops and restarts the shared local Cassandra: run it alone (make test runs faults last, serially). */
describe('Cassandra going away and coming back', () => {
  let svc: ServiceProcess;
  before(async () => {
    await ensureSchema();
    svc = await spawnService();
  });
  after(async () => {
    await cassandra('up');
    await svc?.stop();
  });

  it('when Cassandra stops, then requests fail fast with 503 and /readyz says 503; when it returns, the same process recovers', async () => {
    const user = uniqueUser('outage');
    const before = await postChat(svc.url, { username: user, text: 'before the outage', timeout: 600 });
    assert.equal(before.status, 201);
    assert.equal((await fetch(`${svc.url}/readyz`)).status, 200);

    await cassandra('down');
    const started = Date.now();
    const during = await postChat(svc.url, { username: user, text: 'during', timeout: 600 });
    const elapsed = Date.now() - started;
    assert.equal(during.status, 503);
    assert.equal((during.body.error as { code: string }).code, 'unavailable');
    assert.ok(elapsed < 10_000, `failed within the bounded timeouts (${elapsed} ms)`);
    const list = await getJson<{ error: { code: string } }>(`${svc.url}/chats/${user}`);
    assert.equal(list.status, 503);
    const ready = await getJson<{ checks: Record<string, string> }>(`${svc.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(ready.body.checks.cassandra, 'unreachable');
    assert.equal((await fetch(`${svc.url}/healthz`)).status, 200, 'liveness is unaffected');

    await cassandra('up');
    const deadline = Date.now() + 120_000;
    while ((await fetch(`${svc.url}/readyz`)).status !== 200) {
      assert.ok(Date.now() < deadline, 'service became ready again without a restart');
      await new Promise((r) => setTimeout(r, 500));
    }
    const after = await postChat(svc.url, { username: user, text: 'after', timeout: 600 });
    assert.equal(after.status, 201);
    const listed = await getJson<Array<{ id: number; text: string }>>(`${svc.url}/chats/${user}`);
    assert.deepEqual(listed.body.map((m) => m.text), ['before the outage', 'after'], 'the acknowledged message survived');
  });
});
