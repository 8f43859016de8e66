import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, log, startTestServer, testConfig } from '../support/harness.js';
import { spawnCli, spawnService, type ServiceProcess } from '../support/processes.js';
import { num } from '../../src/storage/cassandra.js';
import { bucketOf } from '../../src/storage/time-buckets.js';
import { MAX_WRITERS, SEQUENCE_BITS } from '../../src/ids/id-layout.js';
import { CHANGE_LOG } from '../../src/chats/changes.js';
import { indexerConsumer } from '../../src/workers/indexer/indexer-worker.js';
import { createSearch } from '../../src/search/search.js';
import { call, newApp, newChat, pool } from '../chats/support.js';
import { dropIndex, freshIndex } from '../search/support.js';
import { indexerPrefix, searchAll } from '../search/indexer-support.js';
import { archiverSettings, searchSettings } from '../../src/settings.js';
import { runArchiver } from '../../src/workers/archiver/run.js';
import { BucketedLog } from '../../src/storage/bucketed-log.js';
import {
  archiverKeyspaces, assertAllArchived, checkpoint, children, coldRows, config, db, ENV, lockRow, parseJsonLines,
  recordingDb, seedExpired, setCheckpoint, sleep, waitFor,
} from '../archiver/support.js';

/**
 * A service process paused (SIGSTOP: a GC pause, a frozen VM, a throttled container) for longer than its writer
 * lease or its worker lock, while another process takes the slot or the lock over and works, then resumed
 * (SIGCONT). Whatever the paused process had in hand when it stopped, it must not write under the lease it lost:
 * no id issued twice, no checkpoint moved back, nothing lost. The first three tests pause real `ephemera` processes,
 * the last two hold one gap open in-process (see there); all run on keyspaces made for the run (archiverKeyspaces:
 * the ids test fills the writer-slot table, the others move checkpoints). Every wait polls the database or the logs
 * with a generous bound; nothing asserts on wall-clock durations.
 */
describe('a service process paused past its lease, then resumed', () => {
  archiverKeyspaces();

  /** The writer slot an id was issued under (id-layout.ts: | ms | 7 bits slot | 5 bits sequence |). */
  const slotOf = (id: number) => Math.floor(id / 2 ** SEQUENCE_BITS) % MAX_WRITERS;

  async function writerRow(slot: number): Promise<{ owner: string | null; validUntil: number }> {
    const r = (await db.execute('test_writer_read',
      `SELECT owner, valid_until FROM ${db.hot}.writer_leases WHERE writer_id = ?`, [slot],
      { consistency: db.serial })).first()!;
    return { owner: r.get('owner') as string | null, validUntil: num(r.get('valid_until')) };
  }

  const claimedSlot = (logs: string[]) => parseJsonLines(logs).find((l) => l.msg === 'writer lease claimed')?.writer as number | undefined;

  it('when a serve process is paused past its writer lease and another process takes its slot, then after SIGCONT it issues no id under the lost lease and no id is issued twice', async (t) => {
    // 5 s is the shortest lease config.ts allows; a claimer waits 5 s more past its horizon (writer-lease.ts).
    const env = { ...ENV, WRITER_LEASE_TTL_MS: '5000' };
    const a = await spawnService(env);
    children.push(a.proc);
    let b: ServiceProcess | undefined;
    try {
      const slot = claimedSlot(a.logs);
      assert.ok(slot !== undefined, `A claimed a slot:\n${a.logs.join('\n')}`);
      // Every other slot is held far ahead, so the next process can only ever claim A's slot once it lapses.
      const until = Date.now() + 3_600_000;
      await pool(MAX_WRITERS, 16, async (w) => {
        if (w !== slot) {
          await db.execute('test_writer_fill',
            `INSERT INTO ${db.hot}.writer_leases (writer_id, owner, valid_until) VALUES (?, 'svcpause-filler', ?)`, [w, until]);
        }
      });

      const acked = new Map<number, { text: string; via: 'A' | 'B' }>();
      const refused: number[] = [];
      const create = async (svc: ServiceProcess, via: 'A' | 'B', text: string) => {
        try {
          const res = await fetch(`${svc.url}/chat`, {
            method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: `pause-${via}`, text, timeout: 600 }),
          });
          if (res.status === 201) {
            const id = ((await res.json()) as { id: number }).id;
            assert.ok(!acked.has(id), `id ${id} acknowledged twice (${acked.get(id)?.text} and ${text})`);
            acked.set(id, { text, via });
          } else {
            refused.push(res.status);
            await res.arrayBuffer();
          }
        } catch {
          refused.push(0); // a dropped connection: nothing was promised
        }
      };

      // Writes into A, 8 at a time, until the pause: requests are in flight at the moment A stops.
      let paused = false;
      const beforePause = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; !paused; i++) await create(a, 'A', `a-before-${w}-${i}`);
      });
      await waitFor('A to acknowledge 100 creates', () => acked.size >= 100, 60_000);
      a.proc.kill('SIGSTOP');
      paused = true;
      const stoppedAt = Date.now();

      // The slot is free for another process once A's horizon is 5 s (the claim margin) in the past.
      const { owner: ownerA, validUntil: horizon } = await writerRow(slot);
      await waitFor('A\'s lease to lapse past the claim margin', () => Date.now() > horizon + 5_500, 60_000, 100);
      const next = await spawnService(env);
      b = next;
      children.push(next.proc);
      assert.equal(claimedSlot(next.logs), slot, `B took A's slot ${slot}:\n${next.logs.join('\n')}`);
      const taken = await writerRow(slot);
      assert.ok(taken.owner !== null && taken.owner !== ownerA, `B owns slot ${slot} now (${taken.owner})`);
      for (let i = 0; i < 100; i++) await create(next, 'B', `b-${i}`);
      assert.ok([...acked.values()].filter((m) => m.via === 'B').length >= 90, `B issued ids (refused: ${refused.join(',')})`);

      // A resumes with its 8 requests in flight, and is asked for more, beside B.
      const pauseMs = Date.now() - stoppedAt;
      a.proc.kill('SIGCONT');
      await Promise.all(beforePause);
      const afterA = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 25; i++) await create(a, 'A', `a-after-${w}-${i}`);
      });
      const afterB = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 25; i++) await create(next, 'B', `b-after-${w}-${i}`);
      });
      await Promise.all([...afterA, ...afterB]);

      const logsA = parseJsonLines(a.logs);
      assert.ok(logsA.some((l) => l.msg === 'writer lease lost; claiming another slot'),
        `A learnt it lost its slot (paused ${pauseMs} ms):\n${a.logs.slice(-20).join('\n')}`);
      // Every id issued on the slot after B took it over is B's, and B's start above every id A issued there.
      const onSlot = [...acked].filter(([id]) => slotOf(id) === slot);
      const maxA = Math.max(...onSlot.filter(([, m]) => m.via === 'A').map(([id]) => id));
      const minB = Math.min(...onSlot.filter(([, m]) => m.via === 'B').map(([id]) => id));
      assert.ok(maxA < minB, `A's ids on slot ${slot} (max ${maxA}) stay below B's (min ${minB})`);
      // A holds no slot any more (every other one is taken): what it was asked after the pause it refused.
      const afterPauseByA = [...acked.values()].filter((m) => m.via === 'A' && m.text.startsWith('a-after-'));
      assert.equal(afterPauseByA.length, 0, `A acknowledged ${afterPauseByA.length} creates with no slot`);
      assert.ok(refused.length >= 100, `A refused its creates after the pause (${refused.length} refused)`);
      assert.equal((await writerRow(slot)).owner, taken.owner, 'B still holds the slot');
      const byA = [...acked.values()].filter((m) => m.via === 'A').length;
      t.diagnostic(`slot ${slot}: A paused ${pauseMs} ms, ${byA} ids acknowledged by A, ${acked.size - byA} by B, `
        + `${refused.length} creates refused by A after the pause, 0 ids twice`);

      // Every acknowledged message reads back, with its own text, from B.
      assert.equal(new Set(acked.keys()).size, acked.size);
      for (const [id, m] of acked) {
        const got = await getJson<{ text: string }>(`${next.url}/chat/${id}`);
        assert.equal(got.status, 200, `acknowledged message ${id} is readable`);
        assert.equal(got.body.text, m.text, `message ${id} has its own text`);
      }
    } finally {
      a.proc.kill('SIGCONT');
      await Promise.all([a.stop(), b?.stop()]);
    }
  });

  it('when an archive run is paused past its lock TTL and another run archives the backlog, then after SIGCONT it stops without moving the checkpoint back and every message is in cold once', async (t) => {
    const backlog = await seedExpired(6_000, 40, 4);
    const lastBucket = bucketOf(backlog.at(-1)!.expiresAt.getTime());
    await setCheckpoint(bucketOf(backlog[0]!.expiresAt.getTime()) - 1);
    // Two cold writes in flight: the run lasts seconds, so the pause lands inside it (ENV: a 5 s lock TTL).
    const env = { ...ENV, ARCHIVE_BATCH_CONCURRENCY: '2', LOG_LEVEL: 'debug' };
    const a = await spawnCli(['archive'], env);
    children.push(a.proc);
    let exitedEarly = false;
    void a.exited.then(() => { exitedEarly = true; });
    await waitFor('A to archive its first bucket', () => exitedEarly || a.logs.some((l) => l.includes('"bucket archived"')), 60_000);
    assert.equal(exitedEarly, false, `the run finished before it could be paused:\n${a.logs.join('\n')}`);
    a.proc.kill('SIGSTOP');
    const atPause = await checkpoint();
    assert.ok(atPause < lastBucket, 'A was paused mid-run');

    // The lock row's TTL frees it; another run takes it and archives the whole backlog.
    await waitFor('A\'s lock to expire', async () => (await lockRow()) === null, 60_000, 100);
    const b = await spawnCli(['archive'], env);
    children.push(b.proc);
    assert.equal(await b.exited, 0, `B's run:\n${b.logs.join('\n')}`);
    const afterB = await checkpoint();
    assert.ok(afterB >= lastBucket, `B moved the checkpoint to ${afterB} (last backlog bucket ${lastBucket})`);

    // A resumes: its pending reads answer, its next check finds the lease lapsed, and it stops. The checkpoint
    // is watched the whole time: one write of A's older bucket would show here.
    a.proc.kill('SIGCONT');
    const seen: number[] = [];
    let exited = false;
    const code = a.exited.then((c) => { exited = true; return c; });
    while (!exited) {
      seen.push(await checkpoint());
      await sleep(10);
    }
    seen.push(await checkpoint());
    assert.equal(await code, 1, `A's run ends as a failure:\n${a.logs.slice(-20).join('\n')}`);
    // What ends it depends on which callback runs first after the wake-up: the lease guard's check ("lock lost"),
    // or the driver's 2 s request timers, due during the pause (timers run before I/O), failing the reads in flight.
    const logsA = parseJsonLines(a.logs);
    const failed = logsA.find((l) => l.msg === 'archiver run failed');
    assert.ok(failed, 'A\'s run failed');
    assert.ok(!logsA.some((l) => l.msg === 'archiver run done'), 'A did not finish its run');
    const back = seen.filter((c) => c < afterB);
    assert.equal(back.length, 0, `the checkpoint moved back to ${back[0]} (B left it at ${afterB})`);
    assert.equal(await lockRow(), null, 'A did not take or release a lock it no longer held');

    assertAllArchived(backlog, await coldRows(backlog.map((m) => m.id)));
    t.diagnostic(`A paused at checkpoint ${atPause}, B moved it to ${afterB} (+${afterB - atPause} buckets); `
      + `${seen.length} samples after SIGCONT, none behind; ${backlog.length} messages in cold; A ended with "${String(failed.err)}"`);
  });

  it('when an indexer is paused mid-pass past its lock TTL and another indexer takes over, then after SIGCONT its checkpoint never moves back and every message is searchable once', async (t) => {
    const prefix = indexerPrefix();
    // 2 s: the shortest lock TTL config.ts allows for the indexer.
    const env = { ...ENV, OPENSEARCH_INDEX_PREFIX: prefix, SEARCH_INDEXER_LOCK_TTL_SECONDS: '2' };
    const search = createSearch(searchSettings(testConfig(env)), log);
    await freshIndex(search, prefix);
    const server = await startTestServer(env);
    const lockName = `log:${CHANGE_LOG.name}:${indexerConsumer(prefix)}`;
    const lockHolder = async (): Promise<string | undefined> => (await db.execute('test_indexer_lock',
      `SELECT holder FROM ${db.hot}.locks WHERE name = ?`, [lockName], { consistency: db.serial })).first()?.get('holder') as string | undefined;
    const indexerCheckpoint = async () => {
      const r = (await db.execute('test_indexer_checkpoint',
        `SELECT done_until FROM ${db.hot}.bucketed_log_checkpoints WHERE log = ? AND consumer = ?`,
        [CHANGE_LOG.name, indexerConsumer(prefix)])).first();
      return r ? num(r.get('done_until')) : -1;
    };
    const indexers: Array<Awaited<ReturnType<typeof spawnCli>>> = [];
    try {
      const token = await newApp(server.url);
      const chat = await newChat(server.url, token);
      const n = 40;
      await pool(n, 4, async (i) => {
        const r = await call(server.url, 'POST', `/applications/${token}/chats/${chat}/messages`, { body: `paused ${i}` });
        assert.equal(r.status, 201);
      });

      // A fresh consumer starts an hour (360 buckets) back: its first pass walks them all, so A is paused inside it,
      // holding the lock (checked after the stop: a pass that ended in between released it, and is tried again).
      const a = await spawnCli(['index', '--every', '1'], env);
      indexers.push(a);
      children.push(a.proc);
      let pausedHolding = false;
      for (let attempt = 0; attempt < 20 && !pausedHolding; attempt++) {
        await waitFor('A to hold the lock and have walked a bucket',
          async () => (await lockHolder()) !== undefined && (await indexerCheckpoint()) >= 0, 60_000, 20);
        a.proc.kill('SIGSTOP');
        await sleep(100);
        pausedHolding = (await lockHolder())?.includes(`/${a.proc.pid}/`) ?? false;
        if (!pausedHolding) a.proc.kill('SIGCONT');
      }
      assert.ok(pausedHolding, 'A was paused while it held the lock');
      const atPause = await indexerCheckpoint();

      await waitFor('A\'s lock to expire', async () => (await lockHolder()) === undefined, 60_000, 100);
      const b = await spawnCli(['index', '--every', '1'], env);
      indexers.push(b);
      children.push(b.proc);
      // B walks on from where A left the checkpoint, to the buckets holding the messages.
      const found = async () => (await searchAll(server.url, token, chat, 'paused')).length;
      await waitFor('B to index every message', async () => (await found()) === n, 120_000, 500);
      const afterB = await indexerCheckpoint();
      assert.ok(afterB > atPause, `B moved the checkpoint on (${atPause} -> ${afterB})`);

      // A resumes beside B; the checkpoint is sampled until A has run passes again, and must never go back.
      const linesBefore = a.logs.length;
      a.proc.kill('SIGCONT');
      const seen: number[] = [];
      // The pass in progress fails: at the lease guard's check ("lock lost") or, when the driver's request timers
      // (2 s, due during the pause) run first, as Cassandra "unavailable" for the reads in flight.
      const ended = () => parseJsonLines(a.logs.slice(linesBefore))
        .find((l) => l.msg === 'indexer pass failed' || l.msg === 'search unavailable; indexer retries the bucket');
      await waitFor('A\'s paused pass to fail', async () => { seen.push(await indexerCheckpoint()); return ended(); }, 60_000, 10)
        .catch((err: Error) => { throw new Error(`${err.message}:\n${a.logs.slice(-30).join('\n')}`); });
      for (let i = 0; i < 200; i++) {
        seen.push(await indexerCheckpoint());
        await sleep(10);
      }
      const back = seen.findIndex((c, i) => c < afterB || (i > 0 && c < seen[i - 1]!));
      assert.equal(back, -1, `the checkpoint moved back (${seen.slice(Math.max(0, back - 2), back + 1).join(' -> ')})`);
      assert.ok(a.proc.exitCode === null, 'A keeps running after the lost pass (the next pass takes the lock anew)');
      const hits = await searchAll(server.url, token, chat, 'paused');
      assert.equal(hits.length, n, 'every message searchable');
      assert.equal(new Set(hits.map((h: { number: number }) => h.number)).size, n, 'each once');
      t.diagnostic(`A paused holding the lock at checkpoint ${atPause}, B moved it to ${afterB}; `
        + `${seen.length} samples after SIGCONT, none back; ${n} messages searchable once; A's pass ended with "${String(ended()?.err)}"`);
    } finally {
      for (const i of indexers) { i.proc.kill('SIGCONT'); i.proc.kill('SIGTERM'); }
      await Promise.all(indexers.map((i) => i.exited));
      await server.close();
      await dropIndex(search, prefix).catch(() => undefined);
    }
  });
  /**
   * A SIGSTOP from outside cannot be aimed at the gap between a lock check and the write it guards (microseconds,
   * or one PREPARE round trip the first time a statement is sent), so these two hold that gap open in-process: from
   * its second checkpoint write on, which has already passed its lock check, every statement of run A waits (the
   * held write and the lease renewals alike, as in a stopped process) until another run has taken the lock over
   * and finished. Before forward-only checkpoints (src/storage/forward-checkpoint.ts) A's write then put its older
   * bucket back.
   */
  function frozenAtSecond(statement: string) {
    let frozen = false;
    let seen = 0;
    let thaw!: () => void;
    const thawed = new Promise<void>((resolve) => { thaw = resolve; });
    const rec = recordingDb(db, {
      before: async (name) => {
        if (!frozen && name === statement && ++seen === 2) frozen = true;
        if (frozen) await thawed;
      },
    });
    return { rec, thaw, frozen: () => frozen };
  }

  it('when an archive run pauses between its lock check and its checkpoint write, past its lock TTL, then its late write does not move the checkpoint back', async () => {
    const backlog = await seedExpired(2_000, 80, 4);
    const lastBucket = bucketOf(backlog.at(-1)!.expiresAt.getTime());
    await setCheckpoint(bucketOf(backlog[0]!.expiresAt.getTime()) - 1);
    const a = frozenAtSecond('archiver_state_write');
    const runA = runArchiver(a.rec.db, archiverSettings(config), log);
    await waitFor('A to reach its second checkpoint write', () => a.frozen(), 60_000);
    await waitFor('A\'s lock to expire', async () => (await lockRow()) === null, 60_000, 100);
    assert.equal(await runArchiver(db, archiverSettings(config), log), 'success', 'B takes the lock and sweeps');
    const afterB = await checkpoint();
    assert.ok(afterB >= lastBucket, `B moved the checkpoint to ${afterB} (last backlog bucket ${lastBucket})`);

    a.thaw();
    assert.equal(await runA, 'failure', 'A stops at its next lock check');
    assert.ok(a.rec.count('archiver_state_write') >= 2, 'A did send its late checkpoint write');
    assert.equal(await checkpoint(), afterB, 'the late write left B\'s checkpoint in place');
    assert.equal(await lockRow(), null);
    assertAllArchived(backlog, await coldRows(backlog.map((m) => m.id)));
  });

  it('when a log consumer pauses between its lock check and its checkpoint write, past its lock TTL, then its late write does not move the checkpoint back', async () => {
    // 1 s buckets, a consumer starting 20 buckets back: A's second checkpoint is far behind where B ends.
    const logName = `svcpause-${Date.now().toString(36)}`;
    const open = (on: typeof db) => new BucketedLog<{ n: number }>(on, { name: logName, bucketMs: 1000, shards: 4, settleMs: 500, ttlSeconds: 3600 });
    const n = 30;
    await pool(n, 8, (i) => open(db).append({ n: i }));
    const now = Date.now() + 5_000;
    const opts = (holder: string) => ({ holder, lockTtlSeconds: 2, backlogBuckets: 20, now });
    const seen = new Set<number>();
    const handler = async (entries: Array<{ n: number }>) => { for (const e of entries) seen.add(e.n); };

    const a = frozenAtSecond('log_checkpoint_write');
    const runA = open(a.rec.db).consume('c', handler, opts('svcpause-a'));
    await waitFor('A to reach its second checkpoint write', () => a.frozen(), 60_000);
    const lockName = `log:${logName}:c`;
    await waitFor('A\'s lock to expire', async () => (await db.execute('test_log_lock',
      `SELECT holder FROM ${db.hot}.locks WHERE name = ?`, [lockName], { consistency: db.serial })).first() === null, 60_000, 100);
    const b = await open(db).consume('c', handler, opts('svcpause-b'));
    assert.ok(b !== null && b.buckets > 2, 'B takes the lock and walks on');
    const afterB = (await open(db).checkpoint('c'))!;

    a.thaw();
    await assert.rejects(runA, /lock lost/, 'A stops at its next lock check');
    assert.ok(a.rec.count('log_checkpoint_write') >= 2, 'A did send its late checkpoint write');
    assert.equal(await open(db).checkpoint('c'), afterB, 'the late write left B\'s checkpoint in place');
    assert.equal(seen.size, n, 'every entry handled');
  });
});
