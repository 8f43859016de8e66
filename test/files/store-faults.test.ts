import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../support/harness.js';
import type { RunningServer } from '../../src/server.js';
import { call, newApp, newChat } from '../chats/support.js';
import { ownPrefix, PrivateS3 } from './support.js';

/**
 * The body store down (killed: connections refused) or slow (SIGSTOPped: nothing answers) under a running
 * service: writes and reads of bodies answer 503 within S3_REQUEST_TIMEOUT_MS, everything else keeps working, and
 * every message acknowledged before reads back whole once the store is back.
 */
describe('body store faults (a private versitygw)', () => {
  let s3: PrivateS3;
  let server: RunningServer;
  const TIMEOUT_MS = 1000;
  before(async () => {
    s3 = await PrivateS3.start();
    server = await startTestServer({ ...s3.env, S3_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
      BODY_STORE_PREFIX: ownPrefix('faults') });
  });
  after(async () => {
    await server?.close();
    await s3?.stop();
  });

  const base = () => server.url;
  const path = (token: string, chat: number) => `/applications/${token}/chats/${chat}/messages`;

  async function acknowledged(token: string, chat: number, n: number): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (let i = 0; i < n; i++) {
      const body = `acknowledged ${i} ${'b'.repeat(i * 1500)}`;
      const r = await call(base(), 'POST', path(token, chat), { body });
      assert.equal(r.status, 201);
      out.set(r.body.number as number, body);
    }
    return out;
  }

  async function allReadBack(token: string, chat: number, bodies: Map<number, string>): Promise<void> {
    for (const [number, body] of bodies) {
      const r = await call(base(), 'GET', `${path(token, chat)}/${number}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.body, body);
    }
  }

  /** Body writes and reads answer 503; applications and chats still answer. */
  async function degraded(token: string, chat: number, some: number): Promise<void> {
    const started = Date.now();
    const create = await call(base(), 'POST', path(token, chat), { body: 'while the store is out' });
    assert.equal(create.status, 503);
    assert.equal(create.body.error.code, 'unavailable');
    assert.equal(create.headers.get('retry-after'), '1');
    const edit = await call(base(), 'PUT', `${path(token, chat)}/${some}`, { body: 'edit while out' });
    assert.equal(edit.status, 503);
    // `some` is over CHAT_BODY_INLINE_BYTES (4 KiB): its body is read from its object, so 503 too.
    const read = await call(base(), 'GET', `${path(token, chat)}/${some}`);
    assert.equal(read.status, 503);
    // Bounded by the request timeout, not by the store: three calls, each at most a few S3 timeouts.
    assert.ok(Date.now() - started < 60_000);
    const other = await newChat(base(), token);
    assert.ok(other > chat);
    assert.equal((await call(base(), 'GET', `/applications/${token}`)).status, 200);
    assert.equal((await call(base(), 'GET', `/applications/${token}/chats/${chat}`)).status, 200);
  }

  it('when the store is killed, then body writes and reads answer 503, the rest works, and after a restart nothing acknowledged is lost', async () => {
    const token = await newApp(base());
    const chat = await newChat(base(), token);
    const bodies = await acknowledged(token, chat, 4);
    const large = [...bodies.keys()].at(-1)!;
    await s3.kill();
    try {
      await degraded(token, chat, large);
    } finally {
      await s3.run();
    }
    await allReadBack(token, chat, bodies);
    const r = await call(base(), 'PUT', `${path(token, chat)}/${large}`, { body: 'edited after the restart' }, { 'if-match': '"1"' });
    assert.equal(r.status, 200);
    assert.equal(r.body.version, 2);
  });

  it('when the service starts while the store is down, then it serves (body writes 503) and takes bodies once the store is up', async () => {
    await s3.kill();
    let second: RunningServer | null = null;
    try {
      second = await startTestServer({ ...s3.env, S3_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS), BODY_STORE_PREFIX: ownPrefix('faults') });
      const token = await newApp(second.url);
      const chat = await newChat(second.url, token);
      assert.equal((await call(second.url, 'POST', path(token, chat), { body: 'too early' })).status, 503);
      await s3.run();
      // The create-only check is retried at most once a second: poll, bounded generously.
      let status = 0;
      for (const deadline = Date.now() + 30_000; status !== 201 && Date.now() < deadline;) {
        status = (await call(second.url, 'POST', path(token, chat), { body: 'once the store is up' })).status;
        if (status !== 201) await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(status, 201);
    } finally {
      await second?.close();
      await s3.run();
    }
  });

  it('when the store hangs (SIGSTOP), then body writes and reads answer 503 after S3_REQUEST_TIMEOUT_MS, and all is well once it answers again', async () => {
    const token = await newApp(base());
    const chat = await newChat(base(), token);
    const bodies = await acknowledged(token, chat, 4);
    const large = [...bodies.keys()].at(-1)!;
    s3.pause();
    try {
      await degraded(token, chat, large);
    } finally {
      s3.resume();
    }
    await allReadBack(token, chat, bodies);
    const list = await call(base(), 'GET', `${path(token, chat)}?limit=50`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.map((m: { body: string }) => m.body), [...bodies.values()]);
  });
});
