import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, testConfig, connectTestDb } from '../support/harness.js';
import { faultyDb, type FaultyDb } from '../support/faulty-db.js';
import { CasOutcomeUnknown, Db } from '../../src/storage/cassandra.js';
import { createChats, type Chats } from '../../src/chats/module.js';
import { chatsSettings } from '../../src/settings.js';
import { AppError } from '../../src/errors.js';

/**
 * Edits and deletes whose conditional write landed but whose answer was lost (timeout) or re-sent (a retry
 * answering "not applied"): the caller must get its success, never a false 412 or 404, and exactly one version.
 */
describe('editing under injected faults', () => {
  let db: Db;
  before(async () => { db = await connectTestDb(); });
  after(async () => { await db?.shutdown(); });

  const chatsOver = (client: Db): Chats => createChats(client, chatsSettings(testConfig()), log);

  async function message(chats: Chats): Promise<{ token: string; chat: number; number: number }> {
    const app = await chats.applications.create('faults');
    const chat = (await chats.chats.create(app.token, null)).item.number;
    const number = (await chats.messages.create(app.token, chat, 'first')).item.number;
    return { token: app.token, chat, number };
  }

  it('when an applied edit\'s answer is lost, then the SERIAL read recognises it and the edit answers its new version', async () => {
    let lose = true;
    const faulty = faultyDb(db, { afterSend: (st) => {
      if (st === 'chat_message_edit' && lose) { lose = false; throw new CasOutcomeUnknown(st); }
    } });
    const chats = chatsOver(faulty.db);
    const m = await message(chats);
    const edited = await chats.editor.edit(m.token, m.chat, m.number, 'second', { ifMatch: [1], leaseToken: null });
    assert.equal(edited.version, 2);
    assert.equal(faulty.count('chat_message_edit'), 1, 'settled by a read, not by writing again');
    assert.equal((await chatsOver(db).messages.get(m.token, m.chat, m.number)).version, 2);
  });

  it('when an applied edit is sent twice and the second answer is "not applied", then it is still ours (no false 412)', async () => {
    const faulty = faultyDb(db, { twice: (st) => st === 'chat_message_edit' || st === 'chat_message_delete' });
    const chats = chatsOver(faulty.db);
    const m = await message(chats);
    const edited = await chats.editor.edit(m.token, m.chat, m.number, 'second', { ifMatch: [1], leaseToken: null });
    assert.equal(edited.version, 2);
    assert.equal(edited.body, 'second');
    await chats.editor.delete(m.token, m.chat, m.number, { ifMatch: [2], leaseToken: null });
    await assert.rejects(chatsOver(db).messages.get(m.token, m.chat, m.number),
      (err: unknown) => err instanceof AppError && err.status === 404);
  });

  it('when an applied application or chat rename\'s answer is lost, then it answers its new version, not a 412', async () => {
    const lost = new Set(['chat_app_rename', 'chat_rename']);
    const faulty = faultyDb(db, { afterSend: (st) => {
      if (lost.delete(st)) throw new CasOutcomeUnknown(st);
    } });
    const chats = chatsOver(faulty.db);
    const m = await message(chats);
    assert.equal((await chats.applications.rename(m.token, 'renamed', { ifMatch: [1], leaseToken: null })).version, 2);
    assert.equal((await chats.chats.rename(m.token, m.chat, 'renamed', { ifMatch: [1], leaseToken: null })).version, 2);
    assert.equal(lost.size, 0, 'both answers were lost');
  });

  /** Loses the answer of the first `statement` sent, after `between` ran (another writer committing on top). */
  const lostAfter = (statement: string, between: () => Promise<void>) => {
    let armed = true;
    return faultyDb(db, { afterSend: async (st) => {
      if (st !== statement || !armed) return;
      armed = false;
      await between();
      throw new CasOutcomeUnknown(st);
    } });
  };
  const unknown = (err: unknown) => err instanceof AppError && err.status === 503 && err.headers['retry-after'] === '1';

  for (const ifMatch of [[1], null]) {
    it(`when an applied edit's answer is lost after another editor committed on top (If-Match ${ifMatch ? 'sent' : 'absent'}), then the outcome is unknown (503): no false 412, and our body is not written again over theirs`, async () => {
      const plain = chatsOver(db);
      let m = { token: '', chat: 0, number: 0 };
      const faulty = lostAfter('chat_message_edit', async () => {
        const other = await plain.editor.edit(m.token, m.chat, m.number, 'other editor', { ifMatch: [2], leaseToken: null });
        assert.equal(other.version, 3);
      });
      const chats = chatsOver(faulty.db);
      m = await message(chats);
      await assert.rejects(chats.editor.edit(m.token, m.chat, m.number, 'ours', { ifMatch, leaseToken: null }), unknown);
      const now = await plain.messages.get(m.token, m.chat, m.number);
      assert.deepEqual({ body: now.body, version: now.version }, { body: 'other editor', version: 3 },
        'the other editor\'s change is the current one; ours was not re-applied on top');
      assert.equal(faulty.count('chat_message_edit'), 1);
    });
  }

  it('when an applied chat or application rename\'s answer is lost after another rename on top, then the outcome is unknown (503), not a false 412', async () => {
    const plain = chatsOver(db);
    let m = { token: '', chat: 0, number: 0 };
    const chatFaulty = lostAfter('chat_rename', async () => {
      await plain.chats.rename(m.token, m.chat, 'other', { ifMatch: [2], leaseToken: null });
    });
    m = await message(chatsOver(chatFaulty.db));
    await assert.rejects(chatsOver(chatFaulty.db).chats.rename(m.token, m.chat, 'ours', { ifMatch: [1], leaseToken: null }), unknown);
    assert.deepEqual(await plain.chats.get(m.token, m.chat).then((c) => [c.name, c.version]), ['other', 3]);

    const appFaulty = lostAfter('chat_app_rename', async () => {
      await plain.applications.rename(m.token, 'other', { ifMatch: [2], leaseToken: null });
    });
    await assert.rejects(chatsOver(appFaulty.db).applications.rename(m.token, 'ours', { ifMatch: null, leaseToken: null }), unknown);
    assert.deepEqual(await plain.applications.get(m.token).then((a) => [a.name, a.version]), ['other', 3],
      'the rename is not applied again over the other one');
  });

  /**
   * The first `statement` is held at its coordinator (the caller sees an open outcome at once, its SERIAL read-back
   * finds the row untouched) and lands just before the next send of that statement: the retry's write then loses
   * to our own first one (review B12).
   */
  const landsLate = (statement: string) => {
    let held = false;
    let released = false;
    const faulty: FaultyDb = faultyDb(db, {
      defer: (st) => st === statement && !held && (held = true),
      beforeSend: async (st) => {
        if (st !== statement || !held || released) return;
        released = true;
        await faulty.releaseDeferred();
      },
    });
    return { faulty, released: () => released };
  };

  it('when an edit\'s first send lands after its read-back found the row untouched, just before the retry\'s send, then the edit answers its version (no false 412)', async () => {
    const late = landsLate('chat_message_edit');
    const chats = chatsOver(late.faulty.db);
    const m = await message(chats);
    const edited = await chats.editor.edit(m.token, m.chat, m.number, 'second', { ifMatch: [1], leaseToken: null });
    assert.ok(late.released(), 'the first send landed after the read-back, before the second send');
    assert.deepEqual([edited.version, edited.body], [2, 'second']);
    assert.equal(late.faulty.count('chat_message_edit'), 2);
    const stored = await chatsOver(db).messages.get(m.token, m.chat, m.number);
    assert.deepEqual([stored.version, stored.body], [2, 'second'], 'one version: the retry did not apply on top');
  });

  it('when a delete\'s first send lands after its read-back found the row untouched, just before the retry\'s send, then the delete succeeds (no false 404)', async () => {
    const late = landsLate('chat_message_delete');
    const chats = chatsOver(late.faulty.db);
    const m = await message(chats);
    await chats.editor.delete(m.token, m.chat, m.number, { ifMatch: [1], leaseToken: null });
    assert.ok(late.released());
    await assert.rejects(chatsOver(db).messages.get(m.token, m.chat, m.number),
      (err: unknown) => err instanceof AppError && err.status === 404);
  });

  it('when a chat or application rename\'s first send lands after its read-back found the row untouched, just before the retry\'s send, then it answers its version (no false 412)', async () => {
    const plain = chatsOver(db);
    const app = landsLate('chat_app_rename');
    const m = await message(chatsOver(app.faulty.db));
    const renamedApp = await chatsOver(app.faulty.db).applications.rename(m.token, 'renamed', { ifMatch: [1], leaseToken: null });
    assert.ok(app.released());
    assert.deepEqual([renamedApp.name, renamedApp.version], ['renamed', 2]);
    assert.deepEqual(await plain.applications.get(m.token).then((a) => [a.name, a.version]), ['renamed', 2]);

    const chat = landsLate('chat_rename');
    const renamedChat = await chatsOver(chat.faulty.db).chats.rename(m.token, m.chat, 'renamed', { ifMatch: [1], leaseToken: null });
    assert.ok(chat.released());
    assert.deepEqual([renamedChat.name, renamedChat.version], ['renamed', 2]);
    assert.deepEqual(await plain.chats.get(m.token, m.chat).then((c) => [c.name, c.version]), ['renamed', 2]);
  });

  for (const ifMatch of [[1], null]) {
    it(`when an edit's first send lands after its read-back found the row untouched and another editor commits on top before the retry reads (If-Match ${ifMatch ? 'sent' : 'absent'}), then the outcome is unknown (503): no false 412, and our body is not written again over theirs`, async () => {
      const plain = chatsOver(db);
      let m = { token: '', chat: 0, number: 0 };
      let held = false;
      let released = false;
      const faulty: FaultyDb = faultyDb(db, {
        defer: (st) => st === 'chat_message_edit' && !held && (held = true),
        afterSend: async (st) => {
          // The read-back has answered "untouched"; now our held send lands and another editor writes on top.
          if (st !== 'chat_message_select_serial' || !held || released) return;
          released = true;
          await faulty.releaseDeferred();
          assert.equal((await plain.editor.edit(m.token, m.chat, m.number, 'other editor', { ifMatch: [2], leaseToken: null })).version, 3);
        },
      });
      const chats = chatsOver(faulty.db);
      m = await message(chats);
      await assert.rejects(chats.editor.edit(m.token, m.chat, m.number, 'ours', { ifMatch, leaseToken: null }), unknown);
      assert.ok(released);
      const now = await plain.messages.get(m.token, m.chat, m.number);
      assert.deepEqual({ body: now.body, version: now.version }, { body: 'other editor', version: 3 });
      assert.equal(faulty.count('chat_message_edit'), 1, 'our change was not sent again');
    });
  }

  it('when an edit\'s write never reached Cassandra, then the read shows it unapplied and the edit is tried again', async () => {
    let fail = true;
    const faulty = faultyDb(db, { beforeSend: (st) => {
      if (st === 'chat_message_edit' && fail) { fail = false; throw new CasOutcomeUnknown(st); }
    } });
    const chats = chatsOver(faulty.db);
    const m = await message(chats);
    const edited = await chats.editor.edit(m.token, m.chat, m.number, 'second', { ifMatch: [1], leaseToken: null });
    assert.equal(edited.version, 2);
    assert.equal(faulty.count('chat_message_edit'), 2);
  });
});
