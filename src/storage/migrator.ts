import type { Db } from './cassandra.js';
import type { Logger } from '../logger.js';
import { LwtLock } from './lwt-lock.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { sleep } from '../async.js';

const SCOPE = 'ephemera';

function replicationCql(replication: Record<string, string | number>): string {
  return `{${Object.entries(replication).map(([k, v]) => `'${k}': ${typeof v === 'number' ? v : `'${v}'`}`).join(', ')}}`;
}

/**
 * Applies pending migrations. Keyspaces and the bookkeeping tables are created first (idempotently); the
 * migrations themselves run under an LWT lock, so pods starting together apply each version once. `holder` is the
 * caller's processIdentity(POD_NAME, 'migrator') (config defaults POD_NAME to the hostname).
 */
export async function migrate(db: Db, log: Logger, holder: string):
  Promise<{ applied: number[]; version: number }> {
  const { hot, cold } = db;
  const replication = replicationCql(db.replication);
  for (const ks of [hot, cold]) {
    await db.raw(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${replication}`);
  }
  await db.raw(`CREATE TABLE IF NOT EXISTS ${hot}.schema_migrations (
    scope text, version int, name text, applied_at timestamp, PRIMARY KEY ((scope), version))`);
  // The lock table precedes the migrations because the migration lock lives in it.
  await db.raw(`CREATE TABLE IF NOT EXISTS ${hot}.locks (name text PRIMARY KEY, holder text, acquired_at timestamp)`);

  const lock = new LwtLock(db, 'schema-migrations', holder, 120);
  const deadline = Date.now() + 120_000;
  while (!(await lock.tryAcquire())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the migration lock');
    log.info({ holder: await lock.currentHolder() }, 'another process is migrating; waiting');
    await sleep(500);
  }
  try {
    const done = new Set((await appliedVersions(db)));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      log.info({ version: m.version, migration: m.name }, 'applying migration');
      for (const stmt of m.statements) {
        await db.raw(stmt.replaceAll('{hot}', hot).replaceAll('{cold}', cold));
      }
      await db.raw(`INSERT INTO ${hot}.schema_migrations (scope, version, name, applied_at) VALUES (?, ?, ?, ?)`,
        [SCOPE, m.version, m.name, new Date()]);
      applied.push(m.version);
    }
    return { applied, version: SCHEMA_VERSION };
  } finally {
    await lock.release();
  }
}

export async function appliedVersions(db: Db): Promise<number[]> {
  const rs = await db.raw(`SELECT version FROM ${db.hot}.schema_migrations WHERE scope = ?`, [SCOPE]);
  return rs.rows.map((r) => r.get('version') as number);
}

/**
 * When this database's schema was born (migration 1 applied), in ms; null before that. Nothing written to the
 * schema can be older, so a consumer of derived work without a checkpoint (the archiver) starts there.
 */
export async function schemaBirth(db: Db): Promise<number | null> {
  const rs = await db.execute('schema_birth',
    `SELECT applied_at FROM ${db.hot}.schema_migrations WHERE scope = ? AND version = 1`, [SCOPE]);
  const at = rs.first()?.get('applied_at') as Date | null | undefined;
  return at ? at.getTime() : null;
}

/** The schema version this database is at (0 when nothing is applied). */
export async function currentVersion(db: Db): Promise<number> {
  const rs = await db.execute('schema_version',
    `SELECT version FROM ${db.hot}.schema_migrations WHERE scope = ? ORDER BY version DESC LIMIT 1`, [SCOPE]);
  return (rs.first()?.get('version') as number | undefined) ?? 0;
}
