import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureSchema, testConfig } from '../support/harness.js';
import { chatsSettings } from '../../src/settings.js';
import { spawnService, type ServiceProcess } from '../support/processes.js';
import { call, newApp, newChat, pool, range, walk } from './support.js';

describe('numbering across service processes', () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  before(async () => {
    await ensureSchema();
    [a, b] = await Promise.all([spawnService(), spawnService()]);
  });
  after(async () => { await Promise.all([a?.stop(), b?.stop()]); });

  it('when 200 chats are created at once through two processes, then they get exactly 1..200', async () => {
    const token = await newApp(a.url);
    const urls = [a.url, b.url];
    const replies = await pool(200, 200, (i) => call(urls[i % 2]!, 'POST', `/applications/${token}/chats`, { name: `c${i}` }));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([201]));
    assert.deepEqual(replies.map((r) => r.body.number as number).sort((x, y) => x - y), range(1, 200));
    const listed = await walk(a.url, `/applications/${token}/chats?limit=500`);
    assert.deepEqual(listed.items.map((c) => c.name).sort(), replies.map((_, i) => `c${i}`).sort());
  });

  it('when 500 messages are created at once in one chat through two processes, then they get exactly 1..500', async () => {
    const token = await newApp(a.url);
    const chat = await newChat(a.url, token);
    const urls = [a.url, b.url];
    const replies = await pool(500, 500, (i) =>
      call(urls[i % 2]!, 'POST', `/applications/${token}/chats/${chat}/messages`, { body: `m${i}` }));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([201]));
    assert.deepEqual(replies.map((r) => r.body.number as number).sort((x, y) => x - y), range(1, 500));
    const stored = new Map((await walk(b.url, `/applications/${token}/chats/${chat}/messages?limit=500`)).items
      .map((m) => [m.number as number, m.body as string]));
    replies.forEach((r, i) => assert.equal(stored.get(r.body.number), `m${i}`, 'each number holds its own message'));
  });
});

describe('numbering when a process is SIGKILLed mid-way', () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  before(async () => {
    await ensureSchema();
    [a, b] = await Promise.all([spawnService(), spawnService()]);
  });
  after(async () => { await Promise.all([a?.stop(), b?.stop()]); });

  it('when one process dies under writes and is restarted, then no number is ever handed out twice', async () => {
    const token = await newApp(b.url);
    const chat = await newChat(b.url, token);
    const path = `/applications/${token}/chats/${chat}/messages`;
    const acked = new Map<number, string>();
    // Collected outside the try: an assertion thrown inside it would be swallowed as "a failed create".
    const twice: number[] = [];
    let failed = 0;
    const send = async (url: () => string, tag: string, n: number) => {
      await pool(n, 25, async (i) => {
        const body = `${tag}-${i}`;
        let r;
        try {
          r = await call(url(), 'POST', path, { body });
        } catch { failed += 1; return; /* the killed process dropped the connection */ }
        if (r.status !== 201) { failed += 1; return; }
        if (acked.has(r.body.number)) twice.push(r.body.number);
        acked.set(r.body.number, body);
      });
    };
    const onA = send(() => a.url, 'a', 300);
    const onB = send(() => b.url, 'b', 300);
    while (acked.size < 150) await new Promise((r) => setTimeout(r, 10));
    a.proc.kill('SIGKILL');
    await Promise.all([onA, onB]);
    assert.ok(failed > 0, 'some creates on the killed process failed');
    a = await spawnService();
    await Promise.all([send(() => a.url, 'a2', 200), send(() => b.url, 'b2', 100)]);

    assert.deepEqual(twice, [], 'no number acknowledged to two creates');

    // The kill leaves holes (numbers claimed, rows never written); a page ends before a hole until it is older
    // than the late-row window (docs/api.md, "Paging"), so the walk below waits that long once.
    await new Promise((r) => setTimeout(r, chatsSettings(testConfig()).lateRowWindowMs));

    const listed = (await walk(b.url, `${path}?limit=500`)).items;
    const numbers = listed.map((m) => m.number as number);
    assert.deepEqual(numbers, [...numbers].sort((x, y) => x - y));
    const stored = new Map(listed.map((m) => [m.number as number, m.body as string]));
    for (const [n, body] of acked) assert.equal(stored.get(n), body, `acknowledged message ${n} kept its own body`);
    // Every stored message is an acknowledged one or a create that failed (its row may have landed before the
    // kill cut its answer): no body is stored twice under two numbers, and no more rows than attempts that failed.
    const bodies = listed.map((m) => m.body as string);
    assert.equal(new Set(bodies).size, bodies.length, 'no create stored under two numbers');
    const unacked = listed.filter((m) => acked.get(m.number) !== m.body).length;
    assert.ok(unacked <= failed, `${unacked} stored rows nobody acknowledged, at most the ${failed} failed creates`);
    console.log(`acknowledged ${acked.size}, failed ${failed}, stored ${listed.length}, highest ${numbers.at(-1)}`);
  });
});
