import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, testConfig, connectTestDb } from '../support/harness.js';
import { faultyDb } from '../support/faulty-db.js';
import { CasOutcomeUnknown, Db } from '../../src/storage/cassandra.js';
import { createChats, type Chats } from '../../src/chats/module.js';
import { chatsSettings } from '../../src/settings.js';
import { AppError } from '../../src/errors.js';

/**
 * A create whose row insert (IF NOT EXISTS) lost its answer: on three nodes mostly a Paxos contention timeout in
 * a hot chat's partition, where every create, edit and delete of 1,000 numbers meets. The create settles it with
 * SERIAL reads of its number instead of answering 503: its own row means 201, an empty number means the row is
 * sent again, and only when the reads fail too does the 503 stay. Never a second row, never a number twice.
 */
describe('a create whose row insert lost its answer', () => {
  let db: Db;
  before(async () => { db = await connectTestDb(); });
  after(async () => { await db?.shutdown(); });

  const chatsOver = (client: Db): Chats => createChats(client, chatsSettings(testConfig()), log);

  async function chatOf(chats: Chats): Promise<{ token: string; chat: number }> {
    const app = await chats.applications.create('insert faults');
    return { token: app.token, chat: (await chats.chats.create(app.token, null)).item.number };
  }

  /** Loses the answer of the first `n` sends of `statement` (after or before Cassandra got them). */
  function losing(statement: string, n: number, when: 'after' | 'before') {
    let left = n;
    const lose = (st: string) => {
      if (st === statement && left > 0) { left--; throw new CasOutcomeUnknown(st); }
    };
    return faultyDb(db, when === 'after' ? { afterSend: lose } : { beforeSend: lose });
  }

  it('when a message insert applied but its answer was lost, then the create answers 201 with that number, read once, with no gap', async () => {
    const faulty = losing('chat_message_insert', 1, 'after');
    const chats = chatsOver(faulty.db);
    const { token, chat } = await chatOf(chats);
    const first = await chats.messages.create(token, chat, 'landed, answer lost');
    assert.equal(first.item.number, 1);
    assert.equal(first.replayed, false);
    assert.equal(faulty.count('chat_message_insert'), 1, 'settled by a read, not by sending the row again');
    assert.ok(faulty.count('chat_message_select_serial') >= 1);
    const second = await chats.messages.create(token, chat, 'next');
    assert.equal(second.item.number, 2, 'no number skipped');
    const listed = await chatsOver(db).messages.list(token, chat, 0, 10);
    assert.deepEqual(listed.items.map((m) => [m.number, m.body]), [[1, 'landed, answer lost'], [2, 'next']]);
  });

  it('when a message insert never reached Cassandra and its answer was lost, then the SERIAL read finds the number empty and the row is sent again under the same number', async () => {
    const faulty = losing('chat_message_insert', 2, 'before');
    const chats = chatsOver(faulty.db);
    const { token, chat } = await chatOf(chats);
    const created = await chats.messages.create(token, chat, 'third send lands');
    assert.equal(created.item.number, 1);
    assert.equal(faulty.count('chat_message_insert'), 3);
    assert.equal((await chatsOver(db).messages.get(token, chat, 1)).body, 'third send lands');
  });

  it('when a stalled first send lands after the re-send, then there is one row, ours, and the late send is refused', async () => {
    let deferOne = true;
    const faulty = faultyDb(db, { defer: (st) => {
      if (st === 'chat_message_insert' && deferOne) { deferOne = false; return true; }
      return false;
    } });
    const chats = chatsOver(faulty.db);
    const { token, chat } = await chatOf(chats);
    const created = await chats.messages.create(token, chat, 'stalled');
    assert.equal(created.item.number, 1);
    await faulty.releaseDeferred(); // the first send reaches Cassandra now: IF NOT EXISTS refuses it
    const listed = await chatsOver(db).messages.list(token, chat, 0, 10);
    assert.deepEqual(listed.items.map((m) => [m.number, m.body, m.version]), [[1, 'stalled', 1]]);
  });

  it('when every send and every SERIAL read of the number fail, then the create answers 503 and the next create goes on above it', async () => {
    let failing = true;
    const fail = (st: string) => {
      if (failing && (st === 'chat_message_insert' || st === 'chat_message_select_serial')) throw new CasOutcomeUnknown(st);
    };
    const faulty = faultyDb(db, { beforeSend: fail });
    const chats = chatsOver(faulty.db);
    const { token, chat } = await chatOf(chats);
    await assert.rejects(chats.messages.create(token, chat, 'unknown'),
      (err: unknown) => err instanceof AppError && err.status === 503);
    assert.equal(faulty.count('chat_message_insert'), 1, 'no re-send without a read that found the number empty');
    failing = false;
    const next = await chats.messages.create(token, chat, 'after the outage');
    assert.equal(next.item.number, 2, 'the unsettled number is never handed out again');
  });

  it('when a chat insert applied but its answer was lost, then the chat create answers 201 with that number and the next chat gets the next one', async () => {
    const faulty = losing('chat_insert', 1, 'after');
    const chats = chatsOver(faulty.db);
    const app = await chats.applications.create('chat insert faults');
    const first = await chats.chats.create(app.token, 'lost answer');
    assert.equal(first.item.number, 1);
    assert.equal(first.item.name, 'lost answer');
    assert.equal(faulty.count('chat_insert'), 1);
    assert.equal((await chats.chats.create(app.token, 'next')).item.number, 2);
  });
});
