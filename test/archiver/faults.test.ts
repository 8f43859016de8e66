import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, testConfig, uniqueUser } from '../support/harness.js';
import { spawnCli } from '../support/processes.js';
import { shardOf } from '../../src/inbox/expiry-index.js';
import { BUCKET_MS, bucketOf } from '../../src/storage/time-buckets.js';
import { ArchiverStore } from '../../src/workers/archiver/archiver-store.js';
import type { StoredMessage } from '../../src/inbox/message.js';
import { runArchiver } from '../../src/workers/archiver/run.js';
import {
  pool, recordingDb, config, db, store, children, sleep, archiverKeyspaces, setCheckpoint, lockRow, coldRows,
  coldMeta, seedExpired, assertAllArchived, ENV, seedId,
} from './support.js';
import type { Db } from '../../src/storage/cassandra.js';
import { archiverSettings } from '../../src/settings.js';

/** A cold write that fails, a run that resumes mid-bucket, and a bucket larger than the heap of the process. */
describe('archiver: failed writes, resumed buckets and bounded memory', () => {
  archiverKeyspaces();

  it('when a cold write fails mid-sweep, then the run fails leaving no write running behind it, frees its lock, and the next run completes', async () => {
    const backlog = await seedExpired(4_000, 10, 1);
    await setCheckpoint(bucketOf(backlog[0]!.expiresAt.getTime()) - 1);
    let coldWrites = 0;
    const rec = recordingDb(db, {
      before: (statement) => {
        if (statement === 'insert_cold' && ++coldWrites === 300) throw new Error('injected cold write failure');
      },
    });
    assert.equal(await runArchiver(rec.db, archiverSettings(testConfig({ ...ENV, ARCHIVE_BATCH_CONCURRENCY: '2' })), log), 'failure');
    const sent = rec.calls.length;
    await sleep(500);
    assert.equal(rec.calls.length, sent, 'no statement is sent after the run returned');
    assert.equal(await lockRow(), null, 'the failed run released its lock');
    assert.equal(await runArchiver(db, archiverSettings(config), log), 'success');
    assertAllArchived(backlog, await coldRows(backlog.map((m) => m.id)));
  });

  it('when a run fails mid-bucket, then the next run resumes each shard where it was instead of at the bucket start', async () => {
    const backlog = await seedExpired(2_000, 12, 1);
    await setCheckpoint(bucketOf(backlog[0]!.expiresAt.getTime()) - 1);
    let coldWrites = 0;
    const failing = recordingDb(db, {
      before: (statement) => {
        if (statement === 'insert_cold' && ++coldWrites === 1_500) throw new Error('injected cold write failure');
      },
    });
    assert.equal(await runArchiver(failing.db, archiverSettings(testConfig({ ...ENV, ARCHIVE_BATCH_CONCURRENCY: '2' })), log), 'failure');
    assert.ok(failing.count('archiver_progress_write') > 0, 'shards recorded their progress inside the bucket');
    // What the recorded progress covers: every message of a shard up to its (expires_at, id).
    const bucket = bucketOf(backlog[0]!.expiresAt.getTime());
    const progress = await new ArchiverStore(db).progress(bucket);
    const covered = backlog.filter((m) => {
      const p = progress.get(shardOf(m.id));
      return p && (m.expiresAt.getTime() < p.expiresAt.getTime()
        || (m.expiresAt.getTime() === p.expiresAt.getTime() && m.id <= p.id));
    }).length;
    assert.ok(covered > 0, 'the progress covers part of the bucket');
    // Later buckets hold other tests' messages: count only the rewrites of this backlog.
    const ids = new Set(backlog.map((m) => m.id));
    let rewritten = 0;
    const resumed = Object.create(db) as Db;
    resumed.execute = (...args: Parameters<Db['execute']>) => {
      if (args[0] === 'insert_cold' && ids.has(args[2]![0] as number)) rewritten += 1;
      return db.execute(...args);
    };
    assert.equal(await runArchiver(resumed, archiverSettings(config), log), 'success');
    assert.equal(rewritten, backlog.length - covered, 'the second run wrote exactly what the progress did not cover');
    assertAllArchived(backlog, await coldRows(backlog.map((m) => m.id)));
  });

  it('when a bucket holds 100 MiB of large texts, then an archive process with a 56 MiB heap moves them all to cold', async () => {
    const big = 'é'.repeat(32 * 1024 - 8); // 64 KiB in UTF-8 and in memory (a two-byte string)
    const firstBucket = bucketOf(Date.now()) - 8;
    const user = uniqueUser('arch-big');
    const messages = Array.from({ length: 1_600 }, (_, i): StoredMessage => ({
      id: seedId(), username: `${user}-${i % 10}`, text: `${i}:${big}`,
      expiresAt: new Date(firstBucket * BUCKET_MS + i * 20),
    }));
    await pool(messages.length, 16, (i) => store.insert(messages[i]!, 3600));
    await setCheckpoint(firstBucket - 1);
    // Like the CronJob: a run that fails on a storage timeout is followed by another, which resumes. No run may die
    // of memory (the unbounded sweep is killed by V8's heap limit here, every time).
    const outcomes: Array<number | null> = [];
    // Up to 8 runs: at load average 28 (a cold make test beside other work) four runs in a row ended on storage
    // timeouts (exit 1, no memory error) before one finished.
    for (let attempt = 0; attempt < 8 && outcomes.at(-1) !== 0; attempt++) {
      if (attempt > 0) await sleep(6_000); // a failed run released its lock; a crashed one's expires (5 s TTL)
      const run = await spawnCli(['archive'], { ...ENV, NODE_OPTIONS: '--max-old-space-size=56',
        ARCHIVE_BATCH_CONCURRENCY: '2' });
      children.push(run.proc);
      outcomes.push(await run.exited);
      assert.ok(!run.logs.some((l) => /heap out of memory|heap limit/i.test(l)) && run.proc.signalCode === null,
        `archive under a 56 MiB heap died:\n${run.logs.slice(-5).join('\n')}`);
    }
    assert.equal(outcomes.at(-1), 0, `archive runs ended ${outcomes.join(', ')}`);
    // Reading 150 MiB back would test the reader, not the archiver: every row's metadata, and a sample's text.
    const archived = await coldMeta(messages.map((m) => m.id));
    const missing = messages.filter((m) => archived.get(m.id) !== m.expiresAt.getTime());
    assert.equal(missing.length, 0, `${missing.length} of ${messages.length} large messages missing or wrong in cold`);
    const sample = messages.filter((_, i) => i % 200 === 0);
    const cold = await coldRows(sample.map((m) => m.id));
    for (const m of sample) assert.equal(cold.get(m.id)?.text, m.text);
  });
});
