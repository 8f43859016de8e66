import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, testConfig, connectTestDb } from '../support/harness.js';
import { faultyDb } from '../support/faulty-db.js';
import { Db } from '../../src/storage/cassandra.js';
import { createChats, type Chats } from '../../src/chats/module.js';
import { chatsSettings } from '../../src/settings.js';
import { ApplicationStore } from '../../src/chats/application-store.js';
import { APP_SCOPE } from '../../src/chats/numbered.js';
import { pool, range } from './support.js';

/**
 * A counter found behind the rows stored under it (what a rejoining node's lost Paxos state did once: 525 -> 73,
 * then 119 creates answered 500). Creates must continue past the highest stored number: no error storm, no number
 * handed out twice, no stored row overwritten, and a keyed create never answered with another request's row.
 */
describe('numbering when a counter went backwards under stored rows', () => {
  let db: Db;
  before(async () => { db = await connectTestDb(); });
  after(async () => { await db?.shutdown(); });

  const chatsOver = (client: Db): Chats => createChats(client, chatsSettings(testConfig()), log);

  async function setBack(token: string, scope: number, next: number): Promise<void> {
    const appId = (await new ApplicationStore(db).find(token))!.appId;
    const id = appId;
    const now = (await db.execute('test_counter_read', `SELECT next FROM ${db.hot}.number_counters
      WHERE app_id = ? AND chat_number = ?`, [id, scope], { consistency: db.serial })).first()!.get('next') as unknown;
    const rs = await db.execute('test_counter_set_back', `UPDATE ${db.hot}.number_counters SET next = ?
      WHERE app_id = ? AND chat_number = ? IF next = ?`, [next, id, scope, now], { idempotent: false });
    assert.ok(rs.wasApplied());
  }

  it('when a chat\'s counter is set back under 60 stored messages, then 20 concurrent creates all succeed above 60, each number once, each meeting at most one taken number', async () => {
    const writer = chatsOver(db);
    const app = await writer.applications.create('backwards');
    const chat = (await writer.chats.create(app.token, null)).item.number;
    await pool(60, 10, (i) => writer.messages.create(app.token, chat, `old ${i}`));
    await setBack(app.token, chat, 3);

    // A fresh process (nothing remembered): only the stored rows tell it the counter is behind.
    const faulty = faultyDb(db, {});
    const chats = chatsOver(faulty.db);
    const created = await Promise.all(range(1, 20).map((i) => chats.messages.create(app.token, chat, `new ${i}`)));
    const numbers = created.map((c) => c.item.number).sort((a, b) => a - b);
    assert.ok(created.every((c) => !c.replayed));
    assert.equal(new Set(numbers).size, 20, 'no number handed out twice');
    assert.deepEqual(numbers, range(61, 80), 'right above the highest stored number, no number lost');
    created.forEach((c) => assert.match(c.item.body, /^new /));
    const inserts = faulty.count('chat_message_insert');
    assert.ok(inserts > 20 && inserts <= 40,
      `each create met at most one taken number (the stale counter), then the counter was past every stored row: ${inserts} inserts`);

    const listed = await chats.messages.list(app.token, chat, 0, 500);
    const bodies = new Map(listed.items.map((m) => [m.number, m.body]));
    for (const i of range(0, 59)) assert.ok([...bodies.values()].includes(`old ${i}`), `stored message "old ${i}" kept`);
    for (const c of created) assert.equal(bodies.get(c.item.number), c.item.body);
  });

  it('when a keyed create gets a number another message holds, then it is written under a new number and its key follows it', async () => {
    const writer = chatsOver(db);
    const app = await writer.applications.create('backwards-keyed');
    const chat = (await writer.chats.create(app.token, null)).item.number;
    await pool(10, 5, (i) => writer.messages.create(app.token, chat, `old ${i}`));
    await setBack(app.token, chat, 4);

    const chats = chatsOver(db);
    const first = await chats.messages.create(app.token, chat, 'keyed body', 'key-1');
    assert.equal(first.replayed, false, 'not answered as a replay of someone else\'s message');
    assert.equal(first.item.body, 'keyed body');
    assert.ok(first.item.number > 10);
    const again = await chatsOver(db).messages.create(app.token, chat, 'keyed body', 'key-1');
    assert.equal(again.replayed, true);
    assert.equal(again.item.number, first.item.number, 'the key names the new number');
    assert.equal((await chats.messages.get(app.token, chat, 4)).body.startsWith('old '), true, 'the taken row is untouched');
  });

  it('when an application\'s chat counter is set back, then new chats continue above the stored ones', async () => {
    const writer = chatsOver(db);
    const app = await writer.applications.create('backwards-chats');
    await pool(12, 4, () => writer.chats.create(app.token, 'old'));
    await setBack(app.token, APP_SCOPE, 2);
    const created = await Promise.all(range(1, 5).map(() => chatsOver(db).chats.create(app.token, 'new')));
    const numbers = created.map((c) => c.item.number);
    assert.ok(created.every((c) => !c.replayed && c.item.name === 'new'));
    assert.equal(new Set(numbers).size, 5);
    assert.ok(Math.min(...numbers) > 12, `got ${numbers.join(',')}`);
  });
});
