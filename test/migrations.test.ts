import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Db } from '../src/storage/cassandra.js';
import { appliedVersions, currentVersion, migrate } from '../src/storage/migrator.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/storage/schema.js';
import { log, testConfig } from './support/harness.js';
import { spawnCli } from './support/processes.js';
import { processIdentity } from '../src/process-identity.js';
import { cassandraSettings } from '../src/settings.js';

describe('migrations', () => {
  const suffix = randomBytes(4).toString('hex');
  const env = { CASSANDRA_HOT_KEYSPACE: `mig_hot_${suffix}`, CASSANDRA_COLD_KEYSPACE: `mig_cold_${suffix}` };
  const db = new Db(cassandraSettings(testConfig(env)), log);

  after(async () => {
    for (const ks of Object.values(env)) await db.raw(`DROP KEYSPACE IF EXISTS ${ks}`);
    await db.shutdown();
  });

  it('when two processes migrate a new database at once, then both succeed and each version is applied once', async () => {
    const runs = await Promise.all([spawnCli(['migrate'], env), spawnCli(['migrate'], env)]);
    const codes = await Promise.all(runs.map((r) => r.exited));
    assert.deepEqual(codes, [0, 0], runs.flatMap((r) => r.logs).join('\n'));
    const appliedBy = runs.map((r) => r.logs.map((l) => JSON.parse(l) as { msg: string; applied?: number[] })
      .find((l) => l.applied)?.applied ?? []);
    // Numeric order: the default sort is by text, which puts 10 before 2.
    const byNumber = (a: number, b: number) => a - b;
    assert.deepEqual(appliedBy.flat().sort(byNumber), MIGRATIONS.map((m) => m.version).sort(byNumber),
      'every version was applied by exactly one of the two processes');
    await db.connect();
    assert.deepEqual((await appliedVersions(db)).sort(byNumber), MIGRATIONS.map((m) => m.version).sort(byNumber));
    assert.equal(await currentVersion(db), SCHEMA_VERSION);
  });

  it('when migrate runs again, then nothing is applied and the schema stays current', async () => {
    const again = await migrate(db, log, processIdentity(testConfig(env).POD_NAME, 'migrator'));
    assert.deepEqual(again.applied, []);
    assert.equal(again.version, SCHEMA_VERSION);
  });

  it('when the replication setting names datacenters, then the keyspace uses NetworkTopologyStrategy', async () => {
    const ks = `mig_nts_${suffix}`;
    const nts = new Db(cassandraSettings(testConfig({ CASSANDRA_HOT_KEYSPACE: ks, CASSANDRA_COLD_KEYSPACE: `${ks}_c`,
      CASSANDRA_REPLICATION: 'datacenter1:1' })), log);
    await nts.connect();
    try {
      await migrate(nts, log, processIdentity(testConfig().POD_NAME, 'migrator'));
      const rs = await nts.raw('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [ks]);
      const replication = rs.first()!.get('replication') as Record<string, string>;
      assert.match(replication.class!, /NetworkTopologyStrategy/);
      assert.equal(replication.datacenter1, '1');
    } finally {
      await nts.raw(`DROP KEYSPACE IF EXISTS ${ks}`);
      await nts.raw(`DROP KEYSPACE IF EXISTS ${ks}_c`);
      await nts.shutdown();
    }
  });
});
