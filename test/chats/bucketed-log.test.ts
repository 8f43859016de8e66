import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ensureSchema, log, testConfig } from '../support/harness.js';
import { Db } from '../../src/storage/cassandra.js';
import { BucketedLog } from '../../src/storage/bucketed-log.js';
import { cassandraSettings } from '../../src/settings.js';

describe('bucketed log', () => {
  let db: Db;
  before(async () => { await ensureSchema(); db = new Db(cassandraSettings(testConfig()), log); await db.connect(); });
  after(async () => { await db.shutdown(); });

  /** A fresh log per test; `now` far enough ahead that every appended bucket has settled. */
  const fresh = () => new BucketedLog<{ n: number }>(db, { name: `test-${randomUUID()}`, bucketMs: 1000, shards: 4, settleMs: 500, ttlSeconds: 3600 });
  const later = () => Date.now() + 5_000;
  const opts = (holder = 'h1') => ({ holder, lockTtlSeconds: 30, backlogBuckets: 30 });

  it('when entries are appended and consumed, then each consumer sees each entry once, from its own checkpoint', async () => {
    const bl = fresh();
    await Promise.all(Array.from({ length: 50 }, (_, n) => bl.append({ n })));
    const seenA: number[] = [];
    const first = await bl.consume('a', async (e) => { seenA.push(...e.map((x) => x.n)); }, { ...opts(), now: later() });
    // A late append is written again (see below), so rows may exceed 50 on a loaded machine: compare distinct entries.
    assert.equal(first!.entries, seenA.length);
    assert.deepEqual([...new Set(seenA)].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    const again = await bl.consume('a', async (e) => { seenA.push(...e.map((x) => x.n)); }, { ...opts(), now: later() });
    assert.equal(again!.entries, 0, 'nothing twice for the same consumer');
    const seenB: number[] = [];
    await bl.consume('b', async (e) => { seenB.push(...e.map((x) => x.n)); }, { ...opts(), now: later() });
    assert.equal(new Set(seenB).size, 50, 'another consumer has its own checkpoint');
  });

  it('when a handler fails mid-walk, then the checkpoint stays and the next run gets that bucket again', async () => {
    const bl = fresh();
    await bl.append({ n: 1 });
    await assert.rejects(bl.consume('c', async () => { throw new Error('boom'); }, { ...opts(), now: later() }));
    const seen: number[] = [];
    await bl.consume('c', async (e) => { seen.push(...e.map((x) => x.n)); }, { ...opts(), now: later() });
    assert.deepEqual(seen, [1]);
  });

  it('when a handler fails mid-bucket, then the next run resumes each shard after its last recorded slice, and every entry arrives', async () => {
    const bl = fresh();
    const fromBucket = bl.bucketOf(Date.now());
    await Promise.all(Array.from({ length: 400 }, (_, n) => bl.append({ n })));
    // Rows, not entries: on a loaded machine an append acknowledged late is written again into a later bucket
    // (the log's lateness margin), so the log can hold more than 400 rows (593 seen at load average 25).
    let rows = 0;
    for (let b = fromBucket; b <= bl.bucketOf(Date.now()); b++) rows += (await bl.read(b)).length;
    const first = new Set<number>();
    let calls = 0;
    await assert.rejects(bl.consume('e', async (e) => {
      // The other shards go on (and record their slices) while this one is failing.
      if (++calls === 3) { await new Promise((r) => setTimeout(r, 300)); throw new Error('boom'); }
      for (const x of e) first.add(x.n);
    }, { ...opts(), now: later() }), /boom/);
    const second: number[] = [];
    const resumed = await bl.consume('e', async (e) => { second.push(...e.map((x) => x.n)); }, { ...opts(), now: later() });
    assert.ok(first.size > 0 && resumed!.entries < rows, `the second run got ${resumed!.entries} of ${rows} rows: it resumed`);
    assert.deepEqual([...new Set([...first, ...second])].sort((x, y) => x - y), Array.from({ length: 400 }, (_, i) => i));
    assert.equal((await bl.consume('e', async () => undefined, { ...opts(), now: later() }))!.entries, 0);
  });

  it('when two runs of one consumer overlap, then the second finds the lock held and does nothing', async () => {
    const bl = fresh();
    await bl.append({ n: 1 });
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let entered!: () => void;
    const inside = new Promise<void>((r) => { entered = r; });
    const first = bl.consume('d', async () => { entered(); await gate; }, { ...opts('h1'), now: later() });
    await inside;
    assert.equal(await bl.consume('d', async () => undefined, { ...opts('h2'), now: later() }), null);
    release();
    assert.equal((await first)!.entries, 1);
  });
});
