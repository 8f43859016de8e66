import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, startTestServer, testConfig, connectTestDb } from '../support/harness.js';
import { faultyDb, sleep } from '../support/faulty-db.js';
import { Db } from '../../src/storage/cassandra.js';
import type { RunningServer } from '../../src/server.js';
import { createChats, type Chats } from '../../src/chats/module.js';
import { chatsSettings } from '../../src/settings.js';
import { ApplicationStore } from '../../src/chats/application-store.js';
import { ChatMessageStore } from '../../src/chats/message-store.js';
import { ChatStore } from '../../src/chats/chat-store.js';
import { CountStore } from '../../src/chats/count-store.js';
import { APP_SCOPE } from '../../src/chats/numbered.js';
import { MAX_PAGE_BYTES, MAX_SCANNED_ROWS } from '../../src/chats/client-page.js';
import { call, pool, range, walk } from './support.js';

/**
 * A window of 4 s (a row deadline of 2 s × 2, no skew): holes settle within a test's patience, and the 2 s row
 * deadline still covers a claim and a change entry on a busy 2-core CI machine (100 ms did not). With the S3 body
 * store the deadline is REQUEST_TIMEOUT_MS + S3_REQUEST_TIMEOUT_MS (1 s + 1 s here); without, REQUEST_TIMEOUT_MS.
 */
const SHORT: Record<string, string> = process.env.CHAT_BODY_STORE === 'fs' || process.env.CHAT_BODY_STORE === 'cassandra'
  ? { REQUEST_TIMEOUT_MS: '2000', MAX_CLOCK_SKEW_MS: '0' }
  : { REQUEST_TIMEOUT_MS: '1000', S3_REQUEST_TIMEOUT_MS: '1000', MAX_CLOCK_SKEW_MS: '0' };
const PAST_WINDOW_MS = 4_400;

/**
 * Paging by `?after=` and Link rel=next while rows land late: numbers are claimed before rows are written, so a
 * page must end before a hole that may still fill, a keyed re-drive must not fill a hole lists have passed, and
 * a page costs bounded rows and bytes whatever the chat holds.
 */
describe('chat message pages: late rows, deleted ranges, large bodies', () => {
  let db: Db;
  before(async () => { db = await connectTestDb(); });
  after(async () => { await db?.shutdown(); });

  const chatsOver = (client: Db, env: Record<string, string> = {}): Chats =>
    createChats(client, chatsSettings(testConfig(env)), log);

  /** A Db whose next `statement`, once armed, fails before it is sent: a create that died before its row. */
  function failingOnce(statement: string): { db: Db; arm(): void } {
    let armed = false;
    const faulty = faultyDb(db, { beforeSend: (st) => {
      if (st === statement && armed) { armed = false; throw new Error('create died before its row'); }
    } });
    return { db: faulty.db, arm: () => { armed = true; } };
  }

  async function newChat(chats: Chats): Promise<{ token: string; chat: number }> {
    const app = await chats.applications.create('late');
    return { token: app.token, chat: (await chats.chats.create(app.token, null)).item.number };
  }

  it('when a create\'s row lands after later numbers were listed, then the page stops before its hole and the next poll from the same after= sees every row', async () => {
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((r) => { release = r; });
    let stall = false;
    const faulty = faultyDb(db, { beforeSend: async (st) => {
      if (st === 'chat_message_insert' && stall) { stall = false; await stalled; }
    } });
    const chats = chatsOver(faulty.db);
    const { token, chat } = await newChat(chats);
    for (const i of range(1, 3)) await chats.messages.create(token, chat, `m${i}`);
    stall = true;
    const late = chats.messages.create(token, chat, 'm4 (late)');
    while (stall) await sleep(5);
    for (const i of range(5, 6)) assert.equal((await chats.messages.create(token, chat, `m${i}`)).item.number, i);

    const first = await chats.messages.list(token, chat, 0, 50);
    assert.deepEqual(first.items.map((m) => m.number), [1, 2, 3], 'the page ends before the young hole at 4');
    assert.equal(first.next, null, 'no rel=next: the list ends there for now');
    release();
    assert.equal((await late).item.number, 4);
    const poll = await chats.messages.list(token, chat, 3, 50);
    assert.deepEqual(poll.items.map((m) => m.number), [4, 5, 6], 'the late row is not skipped');
  });

  it('when a hole is older than the late-row window, then pages pass it', async () => {
    const failing = failingOnce('chat_message_insert');
    const chats = chatsOver(failing.db, SHORT);
    const { token, chat } = await newChat(chats);
    await chats.messages.create(token, chat, 'm1');
    failing.arm();
    await assert.rejects(chats.messages.create(token, chat, 'never stored'));
    await chats.messages.create(token, chat, 'm3');
    assert.deepEqual((await chats.messages.list(token, chat, 0, 50)).items.map((m) => m.number), [1]);
    await sleep(PAST_WINDOW_MS);
    assert.deepEqual((await chats.messages.list(token, chat, 0, 50)).items.map((m) => m.number), [1, 3]);
  });

  it('when a create stalls past the row deadline before its row is sent, then the row is never sent, the create answers 503, and pages pass its hole once it settles', async () => {
    let stall = false;
    const faulty = faultyDb(db, { beforeSend: async (st) => {
      // The change entry goes first; a process paused there for longer than REQUEST_TIMEOUT_MS.
      if (st === 'log_append' && stall) { stall = false; await sleep(2_500); }
    } });
    const chats = chatsOver(faulty.db, SHORT);
    const { token, chat } = await newChat(chats);
    await chats.messages.create(token, chat, 'm1');
    const insertsBefore = faulty.count('chat_message_insert');
    stall = true;
    await assert.rejects(chats.messages.create(token, chat, 'too late'),
      (err: unknown) => (err as { status?: number }).status === 503);
    assert.equal(faulty.count('chat_message_insert'), insertsBefore, 'the stalled row was never sent');
    assert.equal((await chats.messages.create(token, chat, 'm3')).item.number, 3);
    await sleep(PAST_WINDOW_MS);
    assert.deepEqual((await chats.messages.list(token, chat, 0, 50)).items.map((m) => m.body), ['m1', 'm3'],
      'the hole at 2 is passed, and nothing can land there any more');
  });

  it('when a keyed chat create died before its row and is retried after the late-row window, then it gets a new number, and the old one is fenced so a stalled first attempt can never land there', async () => {
    const failing = failingOnce('chat_insert');
    const chats = chatsOver(failing.db, SHORT);
    const app = await chats.applications.create('late-chat');
    assert.equal((await chats.chats.create(app.token, null)).item.number, 1);
    failing.arm();
    await assert.rejects(chats.chats.create(app.token, 'keyed', 'chat-key'));
    assert.equal((await chats.chats.create(app.token, null)).item.number, 3);
    await sleep(PAST_WINDOW_MS);
    const listed = await chats.chats.list(app.token, 0, 50);
    assert.deepEqual(listed.items.map((c) => c.number), [1, 3], 'a client has walked past the hole at 2');

    const retry = await chats.chats.create(app.token, 'keyed', 'chat-key');
    assert.equal(retry.replayed, false);
    assert.ok(retry.item.number > 3, `not filled in below the client's cursor (got ${retry.item.number})`);
    const again = await chats.chats.create(app.token, 'keyed', 'chat-key');
    assert.deepEqual([again.replayed, again.item.number], [true, retry.item.number], 'the key follows the new number');
    const appId = (await new ApplicationStore(db).find(app.token))!.appId;
    const now = new Date();
    const stalledFirst = await new ChatStore(db).insert(appId, { number: 2, name: 'keyed', version: 1, createdAt: now, updatedAt: now });
    assert.equal(stalledFirst.applied, false, 'the old number is taken by the fence');
    await assert.rejects(chats.chats.get(app.token, 2), (err: unknown) => (err as { status?: number }).status === 404);
    await assert.rejects(chats.messages.create(app.token, 2, 'into the fence'),
      (err: unknown) => (err as { status?: number }).status === 404);
    assert.deepEqual((await chats.chats.list(app.token, 0, 50)).items.map((c) => c.number), [1, 3, retry.item.number],
      'the fence is never listed, and its number is no hole');
    assert.equal(await new CountStore(db).countRange(appId, APP_SCOPE, 0), 3, 'the fence is not counted as a chat');
  });

  it('when a keyed create is retried after the late-row window, then it gets a new number, and the old one is fenced so a stalled first attempt can never land there', async () => {
    const failing = failingOnce('chat_message_insert');
    const chats = chatsOver(failing.db, SHORT);
    const { token, chat } = await newChat(chats);
    await chats.messages.create(token, chat, 'm1');
    failing.arm();
    await assert.rejects(chats.messages.create(token, chat, 'keyed', 'k-late'));
    await chats.messages.create(token, chat, 'm3');
    await sleep(PAST_WINDOW_MS);
    const listed = await chats.messages.list(token, chat, 0, 50);
    assert.deepEqual(listed.items.map((m) => m.number), [1, 3], 'a client has walked past the hole at 2');

    const retry = await chats.messages.create(token, chat, 'keyed', 'k-late');
    assert.equal(retry.replayed, false);
    assert.ok(retry.item.number > 3, `not filled in below the client's cursor (got ${retry.item.number})`);
    const again = await chats.messages.create(token, chat, 'keyed', 'k-late');
    assert.deepEqual([again.replayed, again.item.number], [true, retry.item.number], 'the key follows the new number');
    const appId = (await new ApplicationStore(db).find(token))!.appId;
    const now = new Date();
    const stalledFirst = await new ChatMessageStore(db).insert(appId, chat,
      { number: 2, body: 'keyed', version: 1, createdAt: now, updatedAt: now });
    assert.equal(stalledFirst.applied, false, 'the old number is taken by the fence');
    const all = await chats.messages.list(token, chat, 0, 50);
    assert.deepEqual(all.items.map((m) => m.body), ['m1', 'm3', 'keyed'], 'stored once');
  });

  describe('over HTTP', () => {
    let server: RunningServer;
    before(async () => { server = await startTestServer(); });
    after(async () => { await server?.close(); });

    it(`when a chat holds ${MAX_SCANNED_ROWS + 500} deleted rows before its one live message, then a page reads at most ${MAX_SCANNED_ROWS} rows and still returns rel=next`, async () => {
      const chats = chatsOver(db);
      const { token, chat } = await newChat(chats);
      const appId = (await new ApplicationStore(db).find(token))!.appId;
      const store = new ChatMessageStore(db);
      const deleted = MAX_SCANNED_ROWS + 500;
      // What a chat whose messages were all deleted looks like: every number holds a deleted row.
      const at = new Date();
      await pool(deleted, 64, (i) => store.fence(appId, chat, i + 1, at));
      await db.execute('test_counter_create', `INSERT INTO ${db.hot}.number_counters (app_id, chat_number, next)
        VALUES (?, ?, ?) IF NOT EXISTS`, [appId, chat, deleted + 1], { idempotent: false });
      assert.equal((await chats.messages.create(token, chat, 'the live one')).item.number, deleted + 1);

      const path = `/applications/${token}/chats/${chat}/messages`;
      const first = await call(server.url, 'GET', `${path}?limit=50`);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body, []);
      assert.equal(first.headers.get('link'), `<${path}?limit=50&after=${MAX_SCANNED_ROWS}>; rel="next"`,
        'bounded work, and the walk goes on from the last row scanned');
      const { items, pages } = await walk(server.url, `${path}?limit=50`);
      assert.deepEqual(items.map((m) => m.body), ['the live one']);
      assert.equal(pages, 2);
    });

    it('when a chat holds 100 bodies of 64 KiB, then a page carries at most 4 MiB of bodies and rel=next leads to the rest', async () => {
      const chats = chatsOver(db);
      const { token, chat } = await newChat(chats);
      const big = (i: number) => `${String(i).padStart(4, '0')}${'x'.repeat(64 * 1024 - 4)}`;
      await pool(100, 10, (i) => chats.messages.create(token, chat, big(i)));
      const path = `/applications/${token}/chats/${chat}/messages`;
      const first = await call(server.url, 'GET', `${path}?limit=500`);
      const bytes = first.body.reduce((n: number, m: { body: string }) => n + Buffer.byteLength(m.body), 0);
      assert.ok(bytes <= MAX_PAGE_BYTES, `${bytes} bytes of bodies in one page`);
      assert.equal(first.body.length, MAX_PAGE_BYTES / (64 * 1024));
      assert.match(first.headers.get('link') ?? '', /rel="next"/);
      const { items } = await walk(server.url, `${path}?limit=500`);
      assert.deepEqual(items.map((m) => m.number), range(1, 100));
    });
  });
});
