import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WriterLease } from '../src/ids/writer-lease.js';
import { Db } from '../src/storage/cassandra.js';
import { log, connectTestDb, testConfig } from './support/harness.js';

const POD = testConfig().POD_NAME;

describe('writer leases on Cassandra', () => {
  let db: Db;
  before(async () => { db = await connectTestDb(); });
  after(async () => { await db.shutdown(); });

  it('when several processes start together, then each holds a different writer slot and ids never collide', async () => {
    const leases = Array.from({ length: 6 }, () => new WriterLease(db, log, 30_000, POD));
    await Promise.all(leases.map((l) => l.start()));
    try {
      const writers = leases.map((l) => l.writerId);
      assert.equal(new Set(writers).size, leases.length);
      const ids = leases.flatMap((l) => Array.from({ length: 50 }, () => l.nextId()));
      assert.equal(new Set(ids).size, ids.length);
    } finally {
      await Promise.all(leases.map((l) => l.stop()));
    }
  });

  it('when a lease is released and claimed again, then the new holder starts above the old horizon', async () => {
    const first = new WriterLease(db, log, 30_000, POD);
    await first.start();
    const lastOld = Math.max(...Array.from({ length: 100 }, () => first.nextId()));
    const slot = first.writerId;
    await first.stop();
    assert.throws(() => first.nextId(), (e: { status?: number }) => e.status === 503, 'a stopped lease issues nothing');
    const again = new WriterLease(db, log, 30_000, POD, slot!);
    await again.start();
    try {
      assert.equal(again.writerId, slot, 'the released slot is free at once');
      assert.ok(again.nextId() > lastOld, 'and its next id is above every id the old holder issued');
    } finally {
      await again.stop();
    }
  });
});
