import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, testConfig } from '../support/harness.js';
import { spawnCli } from '../support/processes.js';
import { bucketOf } from '../../src/storage/time-buckets.js';
import { runArchiver } from '../../src/workers/archiver/run.js';
import { CassandraArchiverLock } from '../../src/workers/archiver/cassandra-lock.js';
import type { Lease } from '../../src/storage/lease.js';
import {
  waitFor, recordingDb, isWrite, parseJsonLines, config, db, children, sleep, archiverKeyspaces, setCheckpoint,
  checkpoint, lockRow, coldRows, seedExpired, assertAllArchived, ENV, RUN_TAG,
} from './support.js';
import { archiverSettings } from '../../src/settings.js';

/** The archiver's lock: a SIGKILLed run, two runs at once, a lock taken away, renewals that stop being answered. */
describe('archiver: one run at a time, and a run that loses its lock stops writing', () => {
  archiverKeyspaces();

  it('when an archive process is SIGKILLed mid-sweep, then the next run (once the dead lock expired) leaves every expired message in cold exactly once', async () => {
    const backlog = await seedExpired(12_000, 25, 6);
    const lastBacklogBucket = bucketOf(backlog.at(-1)!.expiresAt.getTime());
    const secondBucket = backlog.filter((m) => bucketOf(m.expiresAt.getTime()) === bucketOf(backlog[0]!.expiresAt.getTime()) + 1);
    await setCheckpoint(bucketOf(backlog[0]!.expiresAt.getTime()) - 1);
    // Few writes in flight, so the run lasts seconds and the kill lands inside it.
    const env = { ...ENV, ARCHIVE_BATCH_CONCURRENCY: '2', LOG_LEVEL: 'debug' };

    const first = await spawnCli(['archive'], env);
    children.push(first.proc);
    let exitedEarly = false;
    void first.exited.then(() => { exitedEarly = true; });
    // Kill once the first bucket is checkpointed and the second is partly in cold (writes past the checkpoint).
    await waitFor('the first bucket to be archived', () => exitedEarly || first.logs.some((l) => l.includes('"bucket archived"')));
    const probe = secondBucket.filter((_, i) => i % 20 === 0).map((m) => m.id);
    await waitFor('writes of the second bucket', async () => exitedEarly || (await coldRows(probe)).size > 0);
    assert.equal(exitedEarly, false, `the archive run finished before it could be killed:\n${first.logs.join('\n')}`);
    first.proc.kill('SIGKILL');
    assert.equal(await first.exited, null);
    assert.equal(first.proc.signalCode, 'SIGKILL');

    // The dead run's lease is still there, and only its TTL will free it.
    const dead = await lockRow();
    assert.ok(dead, 'the killed run left its lock behind');
    assert.ok(dead.ttl <= 5, `lock TTL ${dead.ttl}`);
    const cp = await checkpoint();
    assert.ok(cp < lastBacklogBucket, 'the killed run had not finished');
    const afterKill = await coldRows(backlog.map((m) => m.id));
    assert.ok(afterKill.size > 0 && afterKill.size < backlog.length, `${afterKill.size} of ${backlog.length} archived when killed`);
    const pastCheckpoint = backlog.filter((m) => afterKill.has(m.id) && bucketOf(m.expiresAt.getTime()) > cp).length;
    assert.ok(pastCheckpoint > 0, 'the kill left cold writes the checkpoint does not cover');

    // Re-run until the dead lock has expired: "locked" (exit 2) until then, then a clean run (exit 0).
    const codes: Array<number | null> = [];
    for (;;) {
      const next = await spawnCli(['archive'], env);
      children.push(next.proc);
      const code = await next.exited;
      codes.push(code);
      if (code !== 2 || codes.length > 20) {
        assert.equal(code, 0, `re-run exit codes ${codes.join(',')}:\n${next.logs.join('\n')}`);
        break;
      }
      await sleep(500);
    }
    assert.ok(codes.slice(0, -1).every((c) => c === 2), `exit codes ${codes.join(',')}`);

    assertAllArchived(backlog, await coldRows(backlog.map((m) => m.id)));
    assert.ok(await checkpoint() >= lastBacklogBucket);
    assert.equal(await lockRow(), null, 'the successful run released its lock');
  });

  it('when two archive processes start at once, then exactly one sweeps and the other exits "locked" (2)', async () => {
    const backlog = await seedExpired(6_000, 18, 2);
    await setCheckpoint(bucketOf(backlog[0]!.expiresAt.getTime()) - 1);
    const env = { ...ENV, ARCHIVE_BATCH_CONCURRENCY: '2' };
    const runs = await Promise.all([spawnCli(['archive'], env), spawnCli(['archive'], env)]);
    children.push(...runs.map((r) => r.proc));
    const codes = await Promise.all(runs.map((r) => r.exited));
    const logs = runs.map((r) => parseJsonLines(r.logs));
    assert.deepEqual([...codes].sort(), [0, 2], `exit codes ${codes.join(',')}:\n${runs.map((r) => r.logs.join('\n')).join('\n---\n')}`);
    const winner = logs[codes.indexOf(0)]!;
    const loser = logs[codes.indexOf(2)]!;
    assert.ok((winner.find((l) => l.msg === 'archiver run done')!.swept as number) >= backlog.length);
    assert.ok(loser.some((l) => l.msg === 'another archiver holds the lock; nothing to do'));
    assert.ok(!loser.some((l) => l.msg === 'archiver run done'), 'the locked run did not sweep');
    assertAllArchived(backlog, await coldRows(backlog.map((m) => m.id)));
  });

  it('when a run\'s lock is taken away mid-sweep, then its renewal fails and it stops with failure before its next write', async () => {
    const backlog = await seedExpired(8_000, 15, 2);
    await setCheckpoint(bucketOf(backlog[0]!.expiresAt.getTime()) - 1);
    let lostAt = -1; // statements sent by the time the run can first know it lost the lock
    // Once the lock is stolen, cold writes answer slowly, so the sweep cannot finish before the next renewal
    // (every third of the TTL) however fast Cassandra is.
    let slow = false;
    const rec = recordingDb(db, {
      reply: (statement) => (slow && statement === 'insert_cold' ? sleep(25) : undefined),
      after: (statement, rs) => {
        // Once every callback pending on the refusal has run, the run knows: nothing may be sent after that.
        if (statement === 'lock_renew' && !rs.wasApplied() && lostAt < 0) setImmediate(() => { lostAt = rec.calls.length; });
      },
    });
    const run = runArchiver(rec.db, archiverSettings(testConfig({ ...ENV, ARCHIVE_BATCH_CONCURRENCY: '2' })), log);
    try {
      await waitFor('the sweep to be writing', () => rec.count('insert_cold') > 200);
      const holder = (await lockRow())!.holder;
      const stolen = await db.execute('test_lock_steal',
        `UPDATE ${db.hot}.locks USING TTL 30 SET holder = 'thief' WHERE name = 'archiver' IF holder = ?`, [holder]);
      assert.ok(stolen.wasApplied());
      slow = true;

      assert.equal(await run, 'failure');
      assert.ok(lostAt >= 0, 'a renewal was refused');
      const late = rec.calls.slice(lostAt).filter(isWrite);
      assert.equal(late.length, 0, `${late.length} writes were sent after the renewal was refused`);
      assert.equal((await lockRow())?.holder, 'thief', 'the stopped run left the new holder\'s lock alone');
      assert.ok((await coldRows(backlog.map((m) => m.id))).size < backlog.length, 'the run stopped before finishing');
    } finally {
      await run;
      await db.execute('test_lock_free', `DELETE FROM ${db.hot}.locks WHERE name = 'archiver' IF holder = 'thief'`);
    }
    // With the lock free again, a new run finishes the job.
    assert.equal(await runArchiver(db, archiverSettings(config), log), 'success');
    assertAllArchived(backlog, await coldRows(backlog.map((m) => m.id)));
  });

  it('when lock renewals stop being answered, then the run stops writing before its lease could have expired', async () => {
    const backlog = await seedExpired(2_000, 12, 1);
    await setCheckpoint(bucketOf(backlog[0]!.expiresAt.getTime()) - 1);
    // Slow cold writes (100 ms each) stretch the run past the 5 s lease.
    const rec = recordingDb(db, { before: (statement) => (statement === 'insert_cold' ? sleep(100) : undefined) });
    const real = new CassandraArchiverLock(rec.db, `hung-${RUN_TAG}`, 5);
    let renewals = 0;
    const hung: Lease = {
      holder: real.holder,
      tryAcquire: () => real.tryAcquire(),
      renew: () => { renewals += 1; return new Promise<boolean>(() => undefined); },
      release: () => real.release(),
    };
    try {
      assert.equal(await runArchiver(rec.db, archiverSettings(testConfig({ ...ENV, ARCHIVE_BATCH_CONCURRENCY: '2' })), log, { lock: hung }), 'failure');
      assert.ok(renewals >= 1, 'a renewal was attempted');
      const acquireSent = rec.calls.find((c) => c.statement === 'lock_acquire')!.at;
      const writes = rec.calls.filter(isWrite);
      assert.ok(writes.length > 0);
      const lastWrite = Math.max(...writes.map((w) => w.at)) - acquireSent;
      assert.ok(lastWrite < 5000, `last write sent ${lastWrite} ms after the lock was taken (lease: 5000 ms)`);
      assert.ok((await coldRows(backlog.map((m) => m.id))).size < backlog.length, 'the run stopped before finishing');
      assert.equal(rec.count('lock_release'), 0, 'a lease not known to be held is left to its TTL, not released');
    } finally {
      await db.execute('test_lock_free', `DELETE FROM ${db.hot}.locks WHERE name = 'archiver' IF holder = ?`, [real.holder]);
    }
  });
});
