import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureSchema, getJson, uniqueUser, type Listed } from '../support/harness.js';
import { spawnService, type ServiceProcess } from '../support/processes.js';


describe('a service process killed under write load', () => {
  let victim: ServiceProcess;
  let survivor: ServiceProcess;
  before(async () => {
    await ensureSchema();
    [victim, survivor] = await Promise.all([spawnService(), spawnService()]);
  });
  after(async () => { await Promise.all([victim?.stop(), survivor?.stop()]); });

  it('when a process is SIGKILLed mid-writes, then every acknowledged message is readable and delivered exactly once', async () => {
    const users = Array.from({ length: 5 }, () => uniqueUser('kill'));
    const acked = new Map<number, { user: string; text: string }>();
    let failures = 0;
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; i < 60; i++) {
        const user = users[(w + i) % users.length]!;
        const text = `w${w}-i${i}`;
        try {
          const res = await fetch(`${victim.url}/chat`, {
            method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: user, text, timeout: 600 }),
          });
          if (res.status === 201) acked.set(((await res.json()) as { id: number }).id, { user, text });
          else failures++;
        } catch {
          failures++; // connection reset by the kill: not acknowledged, so no promise was made
        }
      }
    });
    const killer = (async () => {
      while (acked.size < 150) await new Promise((r) => setTimeout(r, 10));
      victim.proc.kill('SIGKILL');
    })();
    await Promise.all([...writers, killer]);
    assert.ok(acked.size >= 150 && failures > 0, `the kill landed mid-load (acked ${acked.size}, failed ${failures})`);

    for (const [id, m] of acked) {
      const got = await getJson<{ username: string; text: string }>(`${survivor.url}/chat/${id}`);
      assert.equal(got.status, 200, `acknowledged message ${id} is readable`);
      assert.deepEqual([got.body.username, got.body.text], [m.user, m.text]);
    }
    const delivered: number[] = [];
    for (const user of users) {
      const list = await getJson<Listed>(`${survivor.url}/chats/${encodeURIComponent(user)}`);
      delivered.push(...list.body.map((x) => x.id));
      assert.deepEqual((await getJson<Listed>(`${survivor.url}/chats/${encodeURIComponent(user)}`)).body, []);
    }
    assert.equal(new Set(delivered).size, delivered.length, 'nothing delivered twice');
    for (const id of acked.keys()) assert.ok(delivered.includes(id), `acknowledged message ${id} was delivered`);
  });
});
