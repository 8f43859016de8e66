import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { log, testConfig, uniqueUser } from './support/harness.js';
import { faultyDb } from './support/faulty-db.js';
import { Db, isConditional } from '../src/storage/cassandra.js';
import { migrate } from '../src/storage/migrator.js';
import { inboxStores } from '../src/inbox/stores.js';
import { MessageService } from '../src/inbox/message-service.js';
import { WriterLease } from '../src/ids/writer-lease.js';
import { LwtLock } from '../src/storage/lwt-lock.js';
import { processIdentity } from '../src/process-identity.js';
import { cassandraSettings, inboxSettings } from '../src/settings.js';

/**
 * A compare-and-set the driver re-sends answers "not applied" to its own applied write (issue 22, D1): every
 * conditional statement must reach the driver with `isIdempotent: false`. Checked on the options the Db hands the
 * real driver client, for every conditional CQL text in src/ and for the LWTs of real requests.
 */
const sources = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

/** Every CQL write in a template literal of src/ that has an IF clause, with the file it sits in. */
function conditionalCql(): { file: string; cql: string }[] {
  return sources('src').flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/`(\s*(?:INSERT|UPDATE|DELETE)\b[^`]*)`/g)]
    .map((m) => ({ file, cql: m[1]! })).filter(({ cql }) => isConditional(cql)));
}

class NotSent extends Error {}

describe('conditional statements are never sent idempotent', () => {
  let db: Db;
  before(async () => {
    db = new Db(cassandraSettings(testConfig()), log);
    await db.connect();
    await migrate(db, log, processIdentity(testConfig().POD_NAME, 'migrator'));
  });
  after(async () => { await db?.shutdown(); });

  it('when any conditional CQL text of src/ goes through Db.execute, then the driver is told it is not idempotent', async () => {
    const found = conditionalCql();
    // 22 conditional statements today (inbox cursor and keys, writer slots, locks, chats, counters, leases).
    assert.ok(found.length >= 22, `the scan found ${found.length} conditional statements`);
    const sent: { cql: string; idempotent: unknown }[] = [];
    const capture = faultyDb(db, {
      // Captured, then stopped before anything reaches Cassandra: the texts hold unfilled `${...}` parts.
      onDriverCall: (_st, options) => { sent.push({ cql: '', idempotent: options.isIdempotent }); throw new NotSent(); },
    });
    for (const { file, cql } of found) {
      await assert.rejects(capture.db.execute(`scan:${file}`, cql, []), NotSent);
      sent.at(-1)!.cql = `${file}: ${cql.trim().slice(0, 60)}`;
    }
    assert.equal(sent.length, found.length);
    assert.deepEqual(sent.filter((s) => s.idempotent !== false), [], 'conditional statements sent idempotent');
  });

  it('when a caller asks for a conditional statement or a batch holding one to be idempotent, then the Db refuses', async () => {
    const cql = `UPDATE ${db.hot}.delivery_cursors SET version = ? WHERE username = ? IF version = ?`;
    await assert.rejects(db.execute('cursor_test', cql, [2, uniqueUser('lwt'), 1], { idempotent: true }),
      /never idempotent/);
    await assert.rejects(db.batch('batch_test', [{ query: cql, params: [2, uniqueUser('lwt'), 1] }]), /only plain/);
  });

  it('when no source file reaches the driver client except through the Db, then the rule above covers every statement', () => {
    const bypass = sources('src').filter((f) => !f.endsWith(join('storage', 'cassandra.ts')))
      .filter((f) => /\bclient\.(execute|batch|eachRow|stream)\(/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(bypass, []);
    const explicit = sources('src').filter((f) => /idempotent:\s*true/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(explicit, [], 'no call site asks for an idempotent send');
  });

  it('when real requests run their LWTs (cursor, key, writer slot, lock), then each reached the driver not idempotent', async () => {
    const seen = new Map<string, unknown[]>();
    const capture = faultyDb(db, {
      onDriverCall: (st, options) => seen.set(st, [...(seen.get(st) ?? []), options.isIdempotent]),
    });
    const config = testConfig();
    const lease = new WriterLease(capture.db, log, config.WRITER_LEASE_TTL_MS, config.POD_NAME);
    await lease.start();
    try {
      const service = new MessageService(inboxStores(capture.db), lease, inboxSettings(config), log);
      const user = uniqueUser('lwt');
      await service.createIdempotent({ username: user, text: 'x', timeout: 600 }, `key-${user}`);
      for await (const batch of service.consume(user)) assert.equal(batch.length, 1);
      await service.create({ username: user, text: 'y', timeout: 600 });
      for await (const batch of service.consume(user)) assert.equal(batch.length, 1);
      const lock = new LwtLock(capture.db, `lwt-test-${user}`, 'me', 30);
      assert.ok(await lock.tryAcquire());
      assert.ok(await lock.renew());
      await lock.release();
    } finally {
      await lease.stop();
    }
    const lwts = ['cursor_create', 'cursor_advance', 'idempotency_claim', 'lock_acquire', 'lock_renew', 'lock_release',
      'writer_lease_release'];
    for (const st of lwts) assert.deepEqual([...new Set(seen.get(st))], [false], `${st} sent with isIdempotent false`);
    const slot = [...(seen.get('writer_lease_insert') ?? []), ...(seen.get('writer_lease_takeover') ?? [])];
    assert.ok(slot.length > 0 && slot.every((v) => v === false), 'the writer slot claim sent with isIdempotent false');
    assert.deepEqual([...new Set(seen.get('insert_message_by_user'))], [true], 'plain upserts stay re-sendable');
  });
});
