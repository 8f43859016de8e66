import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { log, testConfig, connectTestDb } from '../support/harness.js';
import type { Db } from '../../src/storage/cassandra.js';
import { createChats, type Chats } from '../../src/chats/module.js';
import { chatsSettings, sweeperSettings } from '../../src/settings.js';
import { ChatMessageStore } from '../../src/chats/message-store.js';
import { createBodyStore } from '../../src/bodies/create.js';
import type { BodyStore } from '../../src/bodies/body-store.js';
import { messagePrefix, streamKey } from '../../src/bodies/keys.js';
import { createSweeper } from '../../src/workers/sweeper.js';
import type { BodySweeper } from '../../src/chats/body-sweeper.js';
import { ownPrefix } from './support.js';

const GRACE_S = 60;
/** A sweep "after the grace period": the objects written so far are all older than it then. */
const later = () => Date.now() + (GRACE_S + 5) * 1000;

for (const backend of ['s3', 'fs'] as const) {
  /**
   * Objects no row points to (a lost editors' race, a crash between object and row, versions pushed out of the
   * history, a deleted message) are removed after the grace period, and nothing a row points to ever is.
   */
  describe(`body sweeper (${backend})`, () => {
    const env = { CHAT_BODY_STORE: backend, BODY_STORE_PREFIX: ownPrefix(`sweep-${backend}`),
      BODY_ORPHAN_GRACE_SECONDS: String(GRACE_S), CHAT_HISTORY_MAX_VERSIONS: '3' };
    const config = testConfig(env);
    let db: Db;
    let chats: Chats;
    let store: BodyStore;
    let sweeper: BodySweeper;
    let rows: ChatMessageStore;
    before(async () => {
      db = await connectTestDb(config);
      chats = createChats(db, chatsSettings(config), log);
      store = createBodyStore(chatsSettings(config).bodyStore)!;
      sweeper = createSweeper(db, sweeperSettings(config), log)!;
      rows = new ChatMessageStore(db);
    });
    after(async () => { await db?.shutdown(); });

    async function newMessage(body = 'first') {
      const app = await chats.applications.create('sweeper');
      const chat = (await chats.chats.create(app.token, null)).item.number;
      const number = (await chats.messages.create(app.token, chat, body)).item.number;
      return { token: app.token, appId: app.appId, chat, number };
    }
    const objectsOf = async (m: { appId: string; chat: number; number: number }) => {
      const keys: string[] = [];
      for await (const o of store.list(messagePrefix(m.appId, m.chat, m.number))) keys.push(o.key);
      return keys.sort();
    };
    /** The keys the row points to: its current object and its history's. */
    const pointedTo = async (m: { appId: string; chat: number; number: number }) => {
      const row = (await rows.find(m.appId, m.chat, m.number, true))!;
      return [...new Set([row.ref!.key!, ...row.history.map((e) => e.key!)])].sort();
    };

    it('when 8 editors race on one message, then the losers\' objects are swept after the grace period and every kept version reads back', async () => {
      const m = await newMessage();
      const bodies = Array.from({ length: 8 }, (_, i) => `racer ${i} ${'x'.repeat(i * 100)}`);
      const results = await Promise.allSettled(bodies.map((b) =>
        chats.editor.edit(m.token, m.chat, m.number, b, { ifMatch: null, leaseToken: null })));
      const won = results.filter((r) => r.status === 'fulfilled').length;
      assert.ok(won >= 1, 'at least one edit applied');
      const before = await objectsOf(m);
      const kept = await pointedTo(m);
      // Every round that lost left an object: there are more objects than the row points to.
      assert.ok(before.length >= 1 + won, `objects ${before.length} for ${won} applied edits`);
      assert.ok(kept.every((k) => before.includes(k)), 'a row never points to a missing object');

      const now = await sweeper.sweep();
      assert.equal(now.deleted, 0, 'nothing is swept inside the grace period');
      const swept = await sweeper.sweep(later());
      assert.ok(swept.deleted >= before.length - kept.length);
      assert.deepEqual(await objectsOf(m), kept, 'exactly what the row points to is left');
      const versions = await chats.history.list(m.token, m.chat, m.number, null, 50);
      assert.equal(versions.items.length, Math.min(3, 1 + won), 'CHAT_HISTORY_MAX_VERSIONS=3 versions kept');
      for (const v of versions.items) {
        const { body } = await chats.history.get(m.token, m.chat, m.number, v.version);
        assert.equal(Buffer.byteLength(body), v.size);
      }
      const current = await chats.messages.get(m.token, m.chat, m.number);
      assert.ok(bodies.includes(current.body));
    });

    it('when a writer dies between its object and its row, then the object is kept during the grace period and swept after it', async () => {
      const m = await newMessage();
      // What an edit does first, then nothing: the process "dies" before its conditional write.
      const saved = await chats.bodies.save(m.appId, m.chat, m.number, 2, 'never pointed to');
      assert.ok((await objectsOf(m)).includes(saved.ref.key!));
      await sweeper.sweep();
      assert.ok((await objectsOf(m)).includes(saved.ref.key!), 'young orphan kept');
      await sweeper.sweep(later());
      assert.deepEqual(await objectsOf(m), await pointedTo(m));
      assert.equal((await chats.messages.get(m.token, m.chat, m.number)).body, 'first');
    });

    it('when a create dies between its object and its row, then the object of a message that never existed is swept', async () => {
      const m = await newMessage();
      const orphan = await chats.bodies.save(m.appId, m.chat, m.number + 1, 1, 'a create that died');
      await sweeper.sweep(later());
      assert.deepEqual(await objectsOf({ ...m, number: m.number + 1 }), [], `${orphan.ref.key} swept`);
    });

    it('when versions are pushed out of the history, then their objects are swept and the retained ones stay', async () => {
      const m = await newMessage('v1');
      for (let v = 2; v <= 6; v++) await chats.editor.edit(m.token, m.chat, m.number, `v${v}`, { ifMatch: [v - 1], leaseToken: null });
      assert.equal((await objectsOf(m)).length, 6);
      await sweeper.sweep(later());
      const left = await objectsOf(m);
      assert.equal(left.length, 3);
      assert.deepEqual(left, await pointedTo(m));
      const listed = await chats.history.list(m.token, m.chat, m.number, null, 50);
      assert.deepEqual(listed.items.map((e) => e.version), [6, 5, 4]);
    });

    it('when a message is deleted, then every version\'s object is erased after the grace period', async () => {
      const m = await newMessage('secret 1');
      await chats.editor.edit(m.token, m.chat, m.number, 'secret 2', { ifMatch: [1], leaseToken: null });
      await chats.editor.edit(m.token, m.chat, m.number, 'secret 3', { ifMatch: [2], leaseToken: null });
      assert.equal((await objectsOf(m)).length, 3);
      await chats.editor.delete(m.token, m.chat, m.number, { ifMatch: [3], leaseToken: null });
      await sweeper.sweep();
      assert.equal((await objectsOf(m)).length, 3, 'kept during the grace period');
      await sweeper.sweep(later());
      assert.deepEqual(await objectsOf(m), [], 'no object of the deleted message is left');
      const row = await rows.find(m.appId, m.chat, m.number, true);
      assert.equal(row!.body, '');
      assert.equal(row!.history.length, 0);
    });

    it('when bodies were streamed (keys without their digest), then the sweeper keeps what the row points to and removes an orphan', async () => {
      const m = await newMessage();
      for (const b of ['streamed v2', 'streamed v3 ü']) {
        const bytes = Buffer.from(b);
        await chats.editor.editStreamed(m.token, m.chat, m.number, Readable.from([bytes]), bytes.length,
          { ifMatch: null, leaseToken: null });
      }
      const orphan = streamKey(m.appId, m.chat, m.number, 4);
      const bytes = Buffer.from('an upload whose row never came');
      await store.putStream(orphan, Readable.from([bytes]), bytes.length, () => createHash('sha256').update(bytes).digest());
      assert.equal((await objectsOf(m)).length, 4);
      await sweeper.sweep(later());
      assert.deepEqual(await objectsOf(m), await pointedTo(m));
      assert.equal((await objectsOf(m)).length, 3);
      assert.equal((await chats.messages.get(m.token, m.chat, m.number)).body, 'streamed v3 ü');
    });
  });
}
