import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, testConfig, uniqueUser } from '../support/harness.js';
import { Db } from '../../src/storage/cassandra.js';
import { migrate, schemaBirth } from '../../src/storage/migrator.js';
import { BUCKET_MS } from '../../src/storage/time-buckets.js';
import { MessageStore } from '../../src/inbox/message-store.js';
import { firstIdAt } from '../../src/ids/id-layout.js';
import { runArchiver } from '../../src/workers/archiver/run.js';
import type { Config } from '../../src/config.js';
import { processIdentity } from '../../src/process-identity.js';
import { archiverSettings, cassandraSettings } from '../../src/settings.js';

/**
 * A brand-new database has no archiver checkpoint (the migrator no longer seeds the archiver's state): the
 * archiver's first run must start at the schema's birth, not at its own `now`, or every message that timed out
 * between the migration and that first run would stay out of cold. Its own keyspaces, fresh, dropped after.
 */
const TAG = Date.now().toString(36);
const ENV = {
  CASSANDRA_HOT_KEYSPACE: `ephemera_birth_${TAG}_hot`,
  CASSANDRA_COLD_KEYSPACE: `ephemera_birth_${TAG}_cold`,
  ARCHIVER_LOCK: 'cassandra',
};

describe('archiver: the first run on a new database', () => {
  let config: Config;
  let db: Db;

  before(async () => {
    config = testConfig(ENV);
    db = new Db(cassandraSettings(config), log);
    await db.connect();
    await migrate(db, log, processIdentity(config.POD_NAME, 'migrator'));
  });

  after(async () => {
    if (!db) return;
    for (const ks of [db.hot, db.cold]) {
      await db.client.execute(`DROP KEYSPACE IF EXISTS ${ks}`, [], { readTimeout: 60_000 }).catch(() => undefined);
    }
    await db.shutdown();
  });

  it('when messages timed out after the migration and before the first archiver run, then that run moves them all to cold', async () => {
    const state = await db.execute('test_archiver_state',
      `SELECT swept_until FROM ${db.hot}.archiver_state WHERE name = 'archiver'`);
    assert.equal(state.first(), null, 'the migrator wrote no archiver checkpoint');
    const birth = await schemaBirth(db);
    assert.ok(birth !== null, 'migration 1 records when it was applied');

    // Three messages expiring 30 s, 2 min and 4 min after the schema was born; the run happens (on its clock)
    // 10 minutes after the birth, once every one of them has timed out and settled.
    const store = new MessageStore(db);
    const user = uniqueUser('first-run');
    const messages = [30_000, 2 * 60_000, 4 * 60_000].map((afterBirth, i) => ({
      id: firstIdAt(birth) + i, username: user, text: `expired ${i}`, expiresAt: new Date(birth + afterBirth),
    }));
    for (const m of messages) await store.insert(m, 3600);
    const now = birth + 10 * BUCKET_MS + config.DELIVERY_SETTLE_MS;
    assert.equal(await runArchiver(db, archiverSettings(config), log, { now }), 'success');

    const cold = await db.execute('test_cold_read', `SELECT id, text FROM ${db.cold}.messages WHERE id IN ?`,
      [messages.map((m) => m.id)]);
    assert.deepEqual(cold.rows.map((r) => r.get('text') as string).sort(), messages.map((m) => m.text).sort());
  });
});
