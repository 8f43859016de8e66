import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureSchema, log, testConfig } from '../support/harness.js';
import { faultyDb } from '../support/faulty-db.js';
import { Db } from '../../src/storage/cassandra.js';
import { AppError, unavailable } from '../../src/errors.js';
import { createChats, type Chats } from '../../src/chats/module.js';
import { cassandraSettings, chatsSettings, searchReconcileSettings } from '../../src/settings.js';
import { changeLog } from '../../src/chats/changes.js';
import { ApplicationStore } from '../../src/chats/application-store.js';
import { ChatMessageStore } from '../../src/chats/message-store.js';
import { messagesAlias } from '../../src/search/index-schema.js';
import type { Search } from '../../src/search/search.js';
import type { SearchIndexerWorker } from '../../src/workers/indexer/indexer-worker.js';
import { messagesFromCassandra } from '../../src/workers/indexer/reindex-source.js';
import { SearchReconciler } from '../../src/workers/indexer/search-reconcile.js';
import { dropIndex, freshIndex } from './support.js';
import { eventually, indexerEnv, indexerPrefix, indexerWorker } from './indexer-support.js';

/**
 * Search stays true to the message rows when the change log misses an entry: a failed append around a delete or
 * an edit, a write whose entry never came, a reindex over deleted rows, and an appender whose clock runs behind
 * the indexer's. Faults go through the faulty-db wrapper over the real Cassandra; the index is the real OpenSearch.
 */
describe('search under change-log faults', () => {
  const prefix = indexerPrefix();
  let db: Db;
  let search: Search;
  let worker: SearchIndexerWorker;
  let consumer: string;
  /** Set to make the next change-log append fail before it is sent (what a coordinator timeout does). */
  let failNextAppend = false;
  let chats: Chats;

  before(async () => {
    await ensureSchema();
    db = new Db(cassandraSettings(testConfig()), log);
    await db.connect();
    ({ worker, search, consumer } = indexerWorker(db, prefix));
    await freshIndex(search, prefix);
    const faulty = faultyDb(db, { beforeSend: (st) => {
      if (st === 'log_append' && failNextAppend) { failNextAppend = false; throw unavailable('injected append failure'); }
    } });
    chats = createChats(faulty.db, chatsSettings(testConfig(indexerEnv(prefix))), log);
  });
  after(async () => {
    await dropIndex(search, prefix);
    await db?.shutdown();
  });

  const refresh = () => search.client.request('refresh', 'POST', `/${messagesAlias(prefix)}/_refresh`);
  const bodies = async (token: string, chat: number, q: string) => {
    await refresh();
    return (await search.searcher.searchMessages({ token, chat, q, limit: 100 })).messages.map((m) => m.body);
  };
  /** Runs indexer passes until the bucket holding `at` (by this clock) has been walked: 10-15 s of real time. */
  const indexThrough = async (at = Date.now()) => {
    const bucket = worker.changes.bucketOf(at);
    await eventually(async () => { await worker.consumeLog(); return worker.changes.checkpoint(consumer); },
      (done) => done !== null && done >= bucket, 60_000);
  };
  const newMessage = async (body: string) => {
    const app = await chats.applications.create('derived faults');
    const chat = (await chats.chats.create(app.token, null)).item.number;
    const number = (await chats.messages.create(app.token, chat, body)).item.number;
    return { token: app.token, chat, number };
  };
  const status = (err: unknown) => (err instanceof AppError ? err.status : 0);

  it('when a DELETE\'s change-log append fails and the DELETE is retried, then search stops returning the message', async () => {
    const m = await newMessage('secret words to delete');
    await indexThrough();
    assert.deepEqual(await bodies(m.token, m.chat, 'secret'), ['secret words to delete']);
    failNextAppend = true;
    await assert.rejects(chats.editor.delete(m.token, m.chat, m.number, { ifMatch: null, leaseToken: null }),
      (err) => status(err) === 503);
    // The client retries: the message is gone either way (204 now, or 404 if the first attempt had applied).
    await chats.editor.delete(m.token, m.chat, m.number, { ifMatch: null, leaseToken: null })
      .catch((err: unknown) => assert.equal(status(err), 404));
    await indexThrough();
    assert.deepEqual(await bodies(m.token, m.chat, 'secret'), []);
  });

  it('when an edit\'s change-log append fails and the If-Match edit is retried, then search finds the new body, never the old', async () => {
    const m = await newMessage('draft words');
    await indexThrough();
    assert.deepEqual(await bodies(m.token, m.chat, 'draft'), ['draft words']);
    failNextAppend = true;
    const cond = { ifMatch: [1], leaseToken: null };
    await assert.rejects(chats.editor.edit(m.token, m.chat, m.number, 'final words', cond), (err) => status(err) === 503);
    // The retry: 200 at version 2, or 412 if the first attempt had applied (the client then reads version 2).
    await chats.editor.edit(m.token, m.chat, m.number, 'final words', cond)
      .then((edited) => assert.equal(edited.version, 2), (err: unknown) => assert.equal(status(err), 412));
    await indexThrough();
    assert.deepEqual(await bodies(m.token, m.chat, 'draft'), []);
    assert.deepEqual(await bodies(m.token, m.chat, 'final'), ['final words']);
  });

  it('when an edit and a delete land with no change entry at all, then the search reconciliation replaces the old body and hides the deleted one', async () => {
    const a = await newMessage('stale original');
    const b = (await chats.messages.create(a.token, a.chat, 'stale doomed')).item.number;
    await indexThrough();
    assert.deepEqual((await bodies(a.token, a.chat, 'stale')).sort(), ['stale doomed', 'stale original']);
    // Written by the data-access layer alone: what a Paxos round completed after its bucket was walked leaves.
    const appId = (await new ApplicationStore(db).find(a.token))!.appId;
    const store = new ChatMessageStore(db);
    assert.equal((await store.edit(appId, a.chat, a.number, { body: 'fresh text', version: 1, at: new Date() }, null)).applied, true);
    assert.equal((await store.delete(appId, a.chat, b, { version: 1, at: new Date() }, null)).applied, true);
    await indexThrough();
    assert.equal((await bodies(a.token, a.chat, 'stale')).length, 2, 'the log alone cannot see these writes');

    const reconciler = new SearchReconciler(db, search, searchReconcileSettings(testConfig(indexerEnv(prefix))), log);
    const result = await reconciler.reconcile(a.token);
    assert.deepEqual(result, { applications: 1, chats: 1, repaired: 2 });
    assert.deepEqual(await bodies(a.token, a.chat, 'stale'), []);
    assert.deepEqual(await bodies(a.token, a.chat, 'fresh'), ['fresh text']);
    assert.deepEqual(await reconciler.reconcile(a.token), { applications: 1, chats: 1, repaired: 0 }, 'nothing left to repair');
  });

  it('when a chat with deleted rows is reindexed, then the deleted rows become tombstones and are never returned', async () => {
    const m = await newMessage('reindexed one');
    for (const body of ['reindexed two', 'reindexed three']) await chats.messages.create(m.token, m.chat, body);
    assert.deepEqual((await search.indexer.reindex(messagesFromCassandra(db, m.token))).written, 3);
    assert.equal((await bodies(m.token, m.chat, 'reindexed')).length, 3);
    // Deleted by the store alone (no entry, no indexer): only the reindex can tell the index.
    const appId = (await new ApplicationStore(db).find(m.token))!.appId;
    assert.equal((await new ChatMessageStore(db).delete(appId, m.chat, 2, { version: 1, at: new Date() }, null)).applied, true);
    const again = await search.indexer.reindex(messagesFromCassandra(db, m.token));
    assert.deepEqual(again, { written: 1, stale: 2, failed: [] });
    assert.deepEqual((await bodies(m.token, m.chat, 'reindexed')).sort(), ['reindexed one', 'reindexed three']);
    const doc = await search.client.request<{ _version: number; _source: { deleted: boolean } }>('get', 'GET',
      `/${messagesAlias(prefix)}/_doc/${m.token}:${m.chat}:2`);
    assert.deepEqual([doc.body._version, doc.body._source.deleted], [2, true], 'a tombstone at the delete\'s version');
  });

  it('when a keyed message create\'s row lands after its entry\'s bucket was walked and the key is retried past the row deadline, then the replay leaves an entry and search finds the message', async () => {
    // A 1 s row deadline (bodies in the row, no S3 upload), so the retry after one walk takes the fence path.
    let holdInsert = false;
    let failAppends = false;
    const stalled = faultyDb(db, {
      // The insert reaches its coordinator only when released: the caller meanwhile sees an open outcome.
      defer: (st) => {
        if (st !== 'chat_message_insert' || !holdInsert) return false;
        holdInsert = false;
        failAppends = true;
        return true;
      },
      // The SERIAL reads that would settle the open outcome fail too (else the create would find the number empty
      // and send its row again: src/chats/numbered.ts settleInsert), so the create answers 503 with its first send
      // still held; and the entry appended after it fails: only the intent, written before the row, is left.
      beforeSend: (st) => {
        if (failAppends && (st === 'log_append' || st === 'chat_message_select_serial')) throw unavailable('injected failure');
      },
    });
    const keyed = createChats(stalled.db, chatsSettings(testConfig({ ...indexerEnv(prefix), REQUEST_TIMEOUT_MS: '1000',
      CHAT_BODY_STORE: 'cassandra' })), log);
    const app = await keyed.applications.create('keyed replay');
    const chat = (await keyed.chats.create(app.token, null)).item.number;
    holdInsert = true;
    await assert.rejects(keyed.messages.create(app.token, chat, 'stalled keyed words', 'key-1'));
    failAppends = false;
    await indexThrough();
    await stalled.releaseDeferred();
    assert.deepEqual(await bodies(app.token, chat, 'stalled'), [], 'the walk came before the row landed');

    const retry = await keyed.messages.create(app.token, chat, 'stalled keyed words', 'key-1');
    assert.deepEqual([retry.replayed, retry.item.number], [true, 1], 'the retry found the first attempt\'s row');
    await indexThrough();
    assert.deepEqual(await bodies(app.token, chat, 'stalled'), ['stalled keyed words']);
  });

  it('when an entry is acknowledged by a writer whose clock is 1.5 s behind the indexer\'s, then it is still indexed', async () => {
    // Its own consumer (index prefix), so the walks below at pretended times leave the other tests' consumer alone.
    const skewPrefix = indexerPrefix();
    const skewed = indexerWorker(db, skewPrefix);
    await freshIndex(skewed.search, skewPrefix);
    try {
      const app = await chats.applications.create('skew');
      const chat = (await chats.chats.create(app.token, null)).item.number;
      const appId = (await new ApplicationStore(db).find(app.token))!.appId;
      const now = new Date();
      await new ChatMessageStore(db).insert(appId, chat, { number: 1, body: 'late but found', version: 1, createdAt: now, updatedAt: now });
      // A bucket long settled in real time; the writer picks it 100 ms before its end, and its append is
      // acknowledged 3.9 s later: 1.2 s before the walk by the writer's clock, 0.3 s after it by the indexer's.
      const bucket = skewed.worker.changes.bucketOf(Date.now()) - 3;
      const end = (bucket + 1) * skewed.worker.changes.opts.bucketMs;
      let reads = 0;
      const writerClock = () => (reads++ === 0 ? end - 100 : end + 3_800);
      const writer = changeLog(db, 3600, testConfig().MAX_CLOCK_SKEW_MS, writerClock);
      const indexerNow = (writerTime: number) => writerTime + 1_500;
      // The indexer walks the bucket first (the append has not landed yet), then the append lands.
      await skewed.worker.consumeLog(indexerNow(end + 3_800));
      assert.equal(await skewed.worker.changes.checkpoint(skewed.consumer), bucket);
      await writer.append({ entity: 'message', op: 'upsert', app: appId, token: app.token, chat, message: 1, version: 1,
        at: end - 100 });
      await skewed.worker.consumeLog(indexerNow(end + 13_800));
      await skewed.search.client.request('refresh', 'POST', `/${messagesAlias(skewPrefix)}/_refresh`);
      const found = await skewed.search.searcher.searchMessages({ token: app.token, chat, q: 'late', limit: 10 });
      assert.deepEqual(found.messages.map((h) => h.body), ['late but found']);
    } finally {
      await dropIndex(skewed.search, skewPrefix);
    }
  });
});
