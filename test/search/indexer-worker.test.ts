import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ensureSchema, log, testConfig } from '../support/harness.js';
import { Db } from '../../src/storage/cassandra.js';
import { ChatMessageStore } from '../../src/chats/message-store.js';
import type { ChangeEntry } from '../../src/chats/types.js';
import { latestPerMessage, type SearchIndexerWorker } from '../../src/workers/indexer/indexer-worker.js';
import type { Search } from '../../src/search/search.js';
import { dropIndex, freshIndex } from './support.js';
import { indexerPrefix, indexerWorker } from './indexer-support.js';
import { cassandraSettings } from '../../src/settings.js';

const entry = (e: Partial<ChangeEntry> & Pick<ChangeEntry, 'app' | 'token' | 'message' | 'version'>): ChangeEntry =>
  ({ entity: 'message', op: 'upsert', chat: 1, at: Date.now(), ...e });

describe('indexer: change entries to documents (edits, deletes, replays)', () => {
  const prefix = indexerPrefix();
  let db: Db;
  let worker: SearchIndexerWorker;
  let search: Search;
  let store: ChatMessageStore;
  const bodies = async (token: string, q: string) =>
    (await search.searcher.searchMessages({ token, chat: 1, q, limit: 100 })).messages.map((m) => m.body);
  const refresh = () => search.client.request('refresh', 'POST', `/${prefix}-messages/_refresh`);
  /** What the editing issue's edit does to a row: new body, version + 1. */
  const editRow = (app: string, number: number, body: string, version: number) => db.execute('test_message_edit',
    `UPDATE ${db.hot}.chat_messages SET body = ?, version = ?, updated_at = ? WHERE app_id = ? AND chat_number = 1 AND bucket = 0 AND number = ?`,
    [body, version, new Date(), app, number]);

  before(async () => {
    await ensureSchema();
    db = new Db(cassandraSettings(testConfig()), log);
    await db.connect();
    ({ worker, search } = indexerWorker(db, prefix));
    store = new ChatMessageStore(db);
    await freshIndex(search, prefix);
  });
  after(async () => { await dropIndex(search, prefix); await db?.shutdown(); });

  it('when a message is edited, then its new upsert entry replaces the body and a replay of the old entry changes nothing', async () => {
    const app = randomUUID();
    const token = `tok-${randomUUID().slice(0, 8)}`;
    const now = new Date();
    await store.insert(app, 1, { number: 1, body: 'original words', version: 1, createdAt: now, updatedAt: now });
    await worker.applyEntries([entry({ app, token, message: 1, version: 1 })]);
    await refresh();
    assert.deepEqual(await bodies(token, 'original'), ['original words']);
    await editRow(app, 1, 'edited text', 2);
    assert.equal((await worker.applyEntries([entry({ app, token, message: 1, version: 2 })])).written, 1);
    await refresh();
    // The first entry again (a repeated bucket): the index holds version 2 already, so it is skipped.
    assert.deepEqual(await worker.applyEntries([entry({ app, token, message: 1, version: 1 })]),
      { written: 0, stale: 0, skipped: 1, failed: [] });
    assert.deepEqual(await bodies(token, 'original'), []);
    assert.deepEqual(await bodies(token, 'EDITED'), ['edited text']);
  });

  it('when a message is deleted, then its tombstone hides it and a late upsert cannot bring it back', async () => {
    const app = randomUUID();
    const token = `tok-${randomUUID().slice(0, 8)}`;
    const now = new Date();
    await store.insert(app, 1, { number: 4, body: 'doomed message', version: 1, createdAt: now, updatedAt: now });
    await worker.applyEntries([entry({ app, token, message: 4, version: 1 })]);
    assert.equal((await store.delete(app, 1, 4, { version: 1, at: new Date() }, null)).applied, true);
    assert.equal((await worker.applyEntries([entry({ app, token, message: 4, version: 2, op: 'delete' })])).written, 1);
    // A late upsert entry before the index's refresh: the row is read as it is now, deleted at version 2, so its
    // tombstone is stale; after the refresh the index's tombstone (version 2) makes it skipped without a read.
    // OpenSearch may refresh on its own first (refresh_interval 1 s; on a loaded machine the delete's bulk can take
    // that long): then it is skipped already. Either way it is not written.
    const late = await worker.applyEntries([entry({ app, token, message: 4, version: 1 })]);
    assert.equal(late.written, 0, 'a late upsert never brings a deleted message back');
    assert.equal(late.stale + late.skipped, 1, `stale before the refresh, or skipped once it happened (${JSON.stringify(late)})`);
    await refresh();
    assert.equal((await worker.applyEntries([entry({ app, token, message: 4, version: 1 })])).skipped, 1);
    assert.deepEqual(await bodies(token, 'doomed'), []);
  });

  it('when a delete entry\'s delete never applied (an intent), then the message stays searchable', async () => {
    const app = randomUUID();
    const token = `tok-${randomUUID().slice(0, 8)}`;
    const now = new Date();
    await store.insert(app, 1, { number: 5, body: 'survivor message', version: 1, createdAt: now, updatedAt: now });
    await worker.applyEntries([entry({ app, token, message: 5, version: 2, op: 'delete' })]);
    await refresh();
    assert.deepEqual(await bodies(token, 'survivor'), ['survivor message']);
  });

  it('when the row of an upsert entry is gone, then the entry is skipped and nothing is indexed', async () => {
    const app = randomUUID();
    const token = `tok-${randomUUID().slice(0, 8)}`;
    assert.deepEqual(await worker.applyEntries([entry({ app, token, message: 9, version: 1 })]),
      { written: 0, stale: 0, skipped: 0, failed: [] });
  });

  it('when the index already holds an entry\'s version (the fast path delivered it), then its row is not read and nothing is sent; an entry the index is behind on is applied', async () => {
    const app = randomUUID();
    const token = `tok-${randomUUID().slice(0, 8)}`;
    const now = new Date();
    // Documents the fast path wrote: message 6 at version 2, message 7 at version 1. No rows in Cassandra at all,
    // so an entry that were read would be skipped as a missing row (counted in neither written nor stale).
    await search.indexer.indexMessages([
      { token, chat: 1, number: 6, body: 'fast six', version: 2, created_at: now, updated_at: now },
      { token, chat: 1, number: 7, body: 'fast seven', version: 1, created_at: now, updated_at: now },
    ]);
    await refresh();
    const held = await worker.applyEntries([entry({ app, token, message: 6, version: 2 }), entry({ app, token, message: 7, version: 1 })]);
    assert.deepEqual(held, { written: 0, stale: 0, skipped: 2, failed: [] });
    // Message 7's edit to version 2 has a row and its entry; the index holds version 1: read and written.
    await store.insert(app, 1, { number: 7, body: 'edited seven', version: 2, createdAt: now, updatedAt: now });
    assert.deepEqual(await worker.applyEntries([entry({ app, token, message: 6, version: 1 }), entry({ app, token, message: 7, version: 2 })]),
      { written: 1, stale: 0, skipped: 1, failed: [] });
    await refresh();
    assert.deepEqual(await bodies(token, 'seven'), ['edited seven']);
  });

  it('when a bucket holds several entries of one message and chat entries, then only the newest message entry is kept', () => {
    const base = { app: 'a', token: 't', message: 1 };
    const kept = latestPerMessage([
      entry({ ...base, version: 1 }), entry({ ...base, version: 3 }), entry({ ...base, version: 2 }),
      entry({ ...base, version: 3, op: 'delete' }), entry({ ...base, message: 2, version: 1 }),
      { entity: 'chat', op: 'upsert', app: 'a', token: 't', chat: 1, message: 0, version: 1, at: 0 },
    ]);
    assert.deepEqual(kept.map((e) => [e.message, e.version, e.op]), [[1, 3, 'delete'], [2, 1, 'upsert']]);
  });
});
