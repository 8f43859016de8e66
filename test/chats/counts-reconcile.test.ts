import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureSchema, log, testConfig } from '../support/harness.js';
import { faultyDb, sleep } from '../support/faulty-db.js';
import { Db } from '../../src/storage/cassandra.js';
import { createChats } from '../../src/chats/module.js';
import { cassandraSettings, chatsSettings } from '../../src/settings.js';
import { CountsWorker } from '../../src/workers/counts/counts-worker.js';
import { pool } from './support.js';

/**
 * The reconciliation walks every application, so this suite has keyspaces of its own (the configured ones with
 * `_rc`): exactly the two applications below, and a lock row nobody else takes.
 */
const HOT = `${testConfig().CASSANDRA_HOT_KEYSPACE}_rc`;
const config = testConfig({ CASSANDRA_HOT_KEYSPACE: HOT, CASSANDRA_COLD_KEYSPACE: `${testConfig().CASSANDRA_COLD_KEYSPACE}_rc` });

describe('counts reconciliation under a short lock', () => {
  let db: Db;
  before(async () => {
    await ensureSchema(config);
    db = new Db(cassandraSettings(config), log);
    await db.connect();
    await db.raw(`TRUNCATE ${HOT}.chat_applications`);
    await db.raw(`TRUNCATE ${HOT}.locks`);
  });
  after(async () => { await db?.shutdown(); });

  it('when one application\'s recount outlasts the lock\'s TTL, then the lock is renewed per chat and every application is reconciled', async () => {
    const chats = createChats(db, chatsSettings(config), log);
    // Two applications of 32 chats: whichever order the walk takes, one comes after the other.
    for (const name of ['first', 'second']) {
      const app = await chats.applications.create(name);
      await pool(32, 8, () => chats.chats.create(app.token, null));
    }

    // Each parent's counter read takes 1 s: an application's pass (its own read, then 32 chats 16 at a time) is
    // over 3 s, and the lock lives 3 s (its TTL, which Cassandra may end up to 1 s early): renewing once per
    // application, the second application finds the lock lost.
    const slow = faultyDb(db, { beforeSend: (st) => (st === 'counter_read' ? sleep(1_000) : undefined) });
    const worker = new CountsWorker(slow.db, { holder: 'test-reconciler', lockTtlSeconds: 3, logRetentionSeconds: 3600, maxClockSkewMs: 2000 }, log);
    const started = Date.now();
    const result = await worker.reconcile();
    assert.deepEqual(result, { applications: 2, chats: 64 });
    assert.ok(Date.now() - started > 6_000, 'the run outlasted the lock TTL twice');
    assert.ok(slow.count('lock_renew') >= 2, `renewed during the walk (${slow.count('lock_renew')} renewals)`);
  });
});
