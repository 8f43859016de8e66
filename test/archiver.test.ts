import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { pino, type Logger } from 'pino';
import { getJson, log, postChat, startTestServer, testConfig, uniqueUser, type Listed } from './support/harness.js';
import { spawnCli } from './support/processes.js';
import { Db } from '../src/storage/cassandra.js';
import { migrate } from '../src/storage/migrator.js';
import { MessageStore } from '../src/inbox/message-store.js';
import { shardOf } from '../src/inbox/expiry-index.js';
import { BUCKET_MS, bucketOf } from '../src/storage/time-buckets.js';
import { ArchiverStore } from '../src/workers/archiver/archiver-store.js';
import { formatExpiration, type StoredMessage } from '../src/inbox/message.js';
import { firstIdAt, idTime } from '../src/ids/id-layout.js';
import { runArchiver, type RunOptions } from '../src/workers/archiver/run.js';
import { CassandraArchiverLock } from '../src/workers/archiver/cassandra-lock.js';
import type { ArchiverLock } from '../src/workers/archiver/archiver-lock.js';
import type { Config } from '../src/config.js';
import type { RunningServer } from '../src/server.js';

/**
 * The archiver's checkpoint is one row per keyspace and the tests move it (and sweep "the future" with a fake
 * clock), so they run in keyspaces of their own, made for this run and dropped after it. Every assertion is about
 * messages these tests created.
 */
const RUN_TAG = Date.now().toString(36);
const KEYSPACE_RE = /^ephemera_arch_([a-z0-9]+)_(hot|cold)$/;
const ENV: Record<string, string> = {
  CASSANDRA_HOT_KEYSPACE: `ephemera_arch_${RUN_TAG}_hot`,
  CASSANDRA_COLD_KEYSPACE: `ephemera_arch_${RUN_TAG}_cold`,
  ARCHIVER_LOCK: 'cassandra',
  ARCHIVER_LOCK_TTL_SECONDS: '5',
};

interface LogLine { msg: string; [k: string]: unknown }
interface ColdRow { username: string; text: string; expiredAt: Date; reason: string }

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Runs `task(i)` for i in [0, n) with `width` calls in flight. */
async function pool(n: number, width: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await task(next++);
  }));
}

/** A logger whose lines the test can read (the result line of a run carries swept/buckets). */
function capturingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

type ResultSet = Awaited<ReturnType<Db['execute']>>;
interface Recorder { db: Db; calls: Array<{ statement: string; at: number }>; count(statement: string): number }

/**
 * The same Db with every statement recorded (name, time sent). `before` may delay or fail a statement before it
 * is sent; `after` sees each result.
 */
function recordingDb(db: Db, hooks: {
  before?: (statement: string) => Promise<void> | void;
  /** Runs after Cassandra answered and before the caller sees the answer: a slow reply, not a late send. */
  reply?: (statement: string) => Promise<void> | void;
  after?: (statement: string, rs: ResultSet) => void;
} = {}): Recorder {
  const calls: Array<{ statement: string; at: number }> = [];
  const spy = Object.create(db) as Db;
  spy.execute = async (...args: Parameters<Db['execute']>) => {
    await hooks.before?.(args[0]);
    calls.push({ statement: args[0], at: Date.now() });
    const rs = await db.execute(...args);
    await hooks.reply?.(args[0]);
    hooks.after?.(args[0], rs);
    return rs;
  };
  return { db: spy, calls, count: (statement) => calls.filter((c) => c.statement === statement).length };
}

const isWrite = (c: { statement: string }) => c.statement === 'insert_cold' || c.statement === 'archiver_state_write';

function parseJsonLines(lines: string[]): LogLine[] {
  return lines.flatMap((l) => { try { return [JSON.parse(l) as LogLine]; } catch { return []; } });
}

describe('archiver: timed-out messages move from hot to cold', () => {
  let config: Config;
  let db: Db;
  let store: MessageStore;
  let server: RunningServer;
  const children: ChildProcess[] = [];
  let nextSeedId = firstIdAt(Date.now() - 2 * 3_600_000);

  before(async () => {
    config = testConfig(ENV);
    db = new Db(config, log);
    await db.connect();
    // Keyspaces of runs that died before their clean-up (hours old, so never a run in progress).
    const rs = await db.client.execute('SELECT keyspace_name FROM system_schema.keyspaces');
    for (const row of rs.rows) {
      const m = KEYSPACE_RE.exec(row.get('keyspace_name') as string);
      if (m && parseInt(m[1]!, 36) < Date.now() - 3 * 3_600_000) await dropKeyspace(m[0]);
    }
    await migrate(db, log);
    store = new MessageStore(db);
    server = await startTestServer(ENV);
  });

  after(async () => {
    for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await server?.close();
    if (db) {
      await dropKeyspace(db.hot).catch(() => undefined);
      await dropKeyspace(db.cold).catch(() => undefined);
      await db.shutdown();
    }
  });

  async function dropKeyspace(name: string): Promise<void> {
    await db.client.execute(`DROP KEYSPACE IF EXISTS ${name}`, [], { readTimeout: 60_000 });
  }

  /**
   * Moves the checkpoint back, as an operator re-running old buckets would, and drops the per-shard progress: the
   * tests sweep "the future" with a fake clock, so progress recorded for a bucket that was not yet complete would
   * hide rows written into it since (a real run only ever walks complete buckets).
   */
  async function setCheckpoint(bucket: number): Promise<void> {
    await db.execute('test_checkpoint', `UPDATE ${db.hot}.archiver_state SET swept_until = ? WHERE name = 'archiver'`, [bucket]);
    await db.execute('test_progress_reset', `DELETE FROM ${db.hot}.archiver_progress WHERE name = 'archiver'`);
  }

  async function checkpoint(): Promise<number> {
    const rs = await db.execute('test_checkpoint_read', `SELECT swept_until FROM ${db.hot}.archiver_state WHERE name = 'archiver'`);
    return Number(rs.first()!.get('swept_until'));
  }

  async function lockRow(): Promise<{ holder: string; ttl: number } | null> {
    const rs = await db.execute('test_lock_read',
      `SELECT holder, TTL(holder) AS ttl FROM ${db.hot}.locks WHERE name = 'archiver'`, [], { consistency: db.serial });
    const r = rs.first();
    return r ? { holder: r.get('holder') as string, ttl: r.get('ttl') as number } : null;
  }

  async function coldRows(ids: number[]): Promise<Map<number, ColdRow>> {
    const out = new Map<number, ColdRow>();
    const chunks = Array.from({ length: Math.ceil(ids.length / 100) }, (_, i) => ids.slice(i * 100, i * 100 + 100));
    await pool(chunks.length, 16, async (i) => {
      const rs = await db.execute('test_cold_read',
        `SELECT id, username, text, expired_at, reason FROM ${db.cold}.messages WHERE id IN ?`, [chunks[i]]);
      for (const r of rs.rows) {
        out.set(Number(r.get('id')), { username: r.get('username') as string, text: r.get('text') as string,
          expiredAt: r.get('expired_at') as Date, reason: r.get('reason') as string });
      }
    });
    return out;
  }

  /** id → expired_at (ms) of cold rows, without their texts. */
  async function coldMeta(ids: number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    const chunks = Array.from({ length: Math.ceil(ids.length / 100) }, (_, i) => ids.slice(i * 100, i * 100 + 100));
    await pool(chunks.length, 4, async (i) => {
      const rs = await db.execute('test_cold_meta', `SELECT id, expired_at FROM ${db.cold}.messages WHERE id IN ?`, [chunks[i]]);
      for (const r of rs.rows) out.set(Number(r.get('id')), (r.get('expired_at') as Date).getTime());
    });
    return out;
  }

  async function hotExpiries(ids: number[]): Promise<Map<number, Date>> {
    const out = new Map<number, Date>();
    const chunks = Array.from({ length: Math.ceil(ids.length / 100) }, (_, i) => ids.slice(i * 100, i * 100 + 100));
    await pool(chunks.length, 16, async (i) => {
      const rs = await db.execute('test_hot_read', `SELECT id, expires_at FROM ${db.hot}.messages_by_id WHERE id IN ?`, [chunks[i]]);
      for (const r of rs.rows) out.set(Number(r.get('id')), r.get('expires_at') as Date);
    });
    return out;
  }

  /**
   * `count` messages whose timeouts already ran out, spread over `buckets` minute-buckets starting `minutesAgo`
   * minutes ago: the hot rows a POST writes (by id, expiry index, by user), backdated. This is the backlog an
   * archiver finds after it was down for a while, without waiting for minutes to pass.
   */
  async function seedExpired(count: number, minutesAgo: number, buckets: number): Promise<StoredMessage[]> {
    const firstBucket = bucketOf(Date.now()) - minutesAgo;
    const user = uniqueUser('arch-backlog');
    const messages = Array.from({ length: count }, (_, i): StoredMessage => ({
      id: nextSeedId++,
      username: `${user}-${i % 10}`,
      text: `backlog ${i}`,
      expiresAt: new Date(firstBucket * BUCKET_MS + Math.floor((i * buckets * BUCKET_MS) / count)),
    }));
    await pool(count, 256, (i) => store.insert(messages[i]!, 3600));
    return messages;
  }

  function assertAllArchived(messages: StoredMessage[], cold: Map<number, ColdRow>): void {
    const missing = messages.filter((m) => !cold.has(m.id));
    assert.equal(missing.length, 0, `${missing.length} of ${messages.length} messages missing from cold, e.g. ${missing[0]?.id}`);
    for (const m of messages) {
      const c = cold.get(m.id)!;
      assert.equal(c.expiredAt.getTime(), m.expiresAt.getTime(), `expired_at of ${m.id}`);
      assert.equal(c.reason, 'timeout');
      assert.equal(c.username, m.username);
      assert.equal(c.text, m.text);
    }
  }

  it('when 10,000 messages with mixed timeouts exist, then one sweep moves exactly the expired ones to cold, with their real expiration', async () => {
    await setCheckpoint(bucketOf(Date.now()) - 1);
    const user = uniqueUser('arch-mixed');
    const timeouts = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? (i / 2) % 3 : 3600));
    const ids: number[] = new Array<number>(timeouts.length);
    await pool(timeouts.length, 128, async (i) => {
      ids[i] = await server.service.create({ username: `${user}-${i % 20}`, text: `mixed ${i}`, timeout: timeouts[i]! });
    });
    const hot = await hotExpiries(ids);
    assert.equal(hot.size, 10_000);
    for (const [i, id] of ids.entries()) {
      const late = hot.get(id)!.getTime() - idTime(id) - timeouts[i]! * 1000;
      assert.ok(late >= 0 && late < 10_000, `expiry of ${id} is its creation + timeout`);
    }
    const created = ids.map((id, i): StoredMessage => ({ id, username: `${user}-${i % 20}`, text: `mixed ${i}`, expiresAt: hot.get(id)! }));
    const expired = created.filter((_, i) => timeouts[i]! <= 2);
    const unexpired = created.filter((_, i) => timeouts[i]! > 2);

    // 75 s on: every short timeout's minute-bucket is complete and settled; 3600 s is far away.
    const now = Date.now() + 75_000;
    const { log: runLog, lines } = capturingLogger();
    assert.equal(await runArchiver(db, config, runLog, { now }), 'success');
    const done = lines.find((l) => l.msg === 'archiver run done')!;
    assert.equal(done.swept, expired.length, 'the sweep touched exactly the expired messages');

    const cold = await coldRows(ids);
    const wronglyArchived = unexpired.filter((m) => cold.has(m.id));
    assert.equal(wronglyArchived.length, 0, `${wronglyArchived.length} unexpired messages were archived`);
    assertAllArchived(expired, cold);

    // The API serves archived messages (from cold) and unexpired ones (from hot) with their real expiration.
    for (const m of [...expired.slice(0, 60), ...unexpired.slice(0, 20)]) {
      const res = await getJson<{ username: string; expiration_date: string }>(`${server.url}/chat/${m.id}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.username, m.username);
      assert.equal(res.body.expiration_date, formatExpiration(m.expiresAt));
    }
  });

  it('when a message was consumed by GET /chats before the sweep, then cold keeps its read time as expiration (the earliest wins)', async () => {
    await setCheckpoint(bucketOf(Date.now()) - 1);
    const user = uniqueUser('arch-read');
    const consumed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await postChat(server.url, { username: user, text: `read me ${i}`, timeout: 20 });
      assert.equal(res.status, 201);
      consumed.push(res.body.id as number);
    }
    const readFrom = Date.now();
    const read = await getJson<Listed>(`${server.url}/chats/${user}`);
    const readUntil = Date.now();
    assert.deepEqual(read.body.map((m) => m.id), consumed);
    const unread = (await postChat(server.url, { username: user, text: 'never read', timeout: 1 })).body.id as number;

    assert.equal(await runArchiver(db, config, log, { now: Date.now() + 20_000 + 75_000 }), 'success');
    const cold = await coldRows([...consumed, unread]);
    const hot = await hotExpiries([...consumed, unread]);
    for (const id of consumed) {
      const c = cold.get(id)!;
      assert.equal(c.reason, 'read');
      assert.ok(c.expiredAt.getTime() >= readFrom && c.expiredAt.getTime() <= readUntil,
        `expired_at ${c.expiredAt.toISOString()} is the read time, not the timeout ${hot.get(id)!.toISOString()}`);
      const res = await getJson<{ expiration_date: string }>(`${server.url}/chat/${id}`);
      assert.equal(res.body.expiration_date, formatExpiration(c.expiredAt));
    }
    assert.equal(cold.get(unread)?.reason, 'timeout');
    assert.equal(cold.get(unread)?.expiredAt.getTime(), hot.get(unread)!.getTime());
  });

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
    const run = runArchiver(rec.db, testConfig({ ...ENV, ARCHIVE_BATCH_CONCURRENCY: '2' }), log);
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
    assert.equal(await runArchiver(db, config, log), 'success');
    assertAllArchived(backlog, await coldRows(backlog.map((m) => m.id)));
  });

  it('when lock renewals stop being answered, then the run stops writing before its lease could have expired', async () => {
    const backlog = await seedExpired(2_000, 12, 1);
    await setCheckpoint(bucketOf(backlog[0]!.expiresAt.getTime()) - 1);
    // Slow cold writes (100 ms each) stretch the run past the 5 s lease.
    const rec = recordingDb(db, { before: (statement) => (statement === 'insert_cold' ? sleep(100) : undefined) });
    const real = new CassandraArchiverLock(rec.db, `hung-${RUN_TAG}`, 5);
    let renewals = 0;
    const hung: ArchiverLock = {
      holder: real.holder,
      tryAcquire: () => real.tryAcquire(),
      renew: () => { renewals += 1; return new Promise<boolean>(() => undefined); },
      release: () => real.release(),
    };
    try {
      assert.equal(await runArchiver(rec.db, testConfig({ ...ENV, ARCHIVE_BATCH_CONCURRENCY: '2' }), log, { lock: hung }), 'failure');
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

  it('when a cold write fails mid-sweep, then the run fails leaving no write running behind it, frees its lock, and the next run completes', async () => {
    const backlog = await seedExpired(4_000, 10, 1);
    await setCheckpoint(bucketOf(backlog[0]!.expiresAt.getTime()) - 1);
    let coldWrites = 0;
    const rec = recordingDb(db, {
      before: (statement) => {
        if (statement === 'insert_cold' && ++coldWrites === 300) throw new Error('injected cold write failure');
      },
    });
    assert.equal(await runArchiver(rec.db, testConfig({ ...ENV, ARCHIVE_BATCH_CONCURRENCY: '2' }), log), 'failure');
    const sent = rec.calls.length;
    await sleep(500);
    assert.equal(rec.calls.length, sent, 'no statement is sent after the run returned');
    assert.equal(await lockRow(), null, 'the failed run released its lock');
    assert.equal(await runArchiver(db, config, log), 'success');
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
    assert.equal(await runArchiver(failing.db, testConfig({ ...ENV, ARCHIVE_BATCH_CONCURRENCY: '2' }), log), 'failure');
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
    assert.equal(await runArchiver(resumed, config, log), 'success');
    assert.equal(rewritten, backlog.length - covered, 'the second run wrote exactly what the progress did not cover');
    assertAllArchived(backlog, await coldRows(backlog.map((m) => m.id)));
  });

  it('when a bucket holds 100 MiB of large texts, then an archive process with a 56 MiB heap moves them all to cold', async () => {
    const big = 'é'.repeat(32 * 1024 - 8); // 64 KiB in UTF-8 and in memory (a two-byte string)
    const firstBucket = bucketOf(Date.now()) - 8;
    const user = uniqueUser('arch-big');
    const messages = Array.from({ length: 1_600 }, (_, i): StoredMessage => ({
      id: nextSeedId++, username: `${user}-${i % 10}`, text: `${i}:${big}`,
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

  it('when there is nothing new to sweep, then a run scans only the new buckets, writes nothing and sweeps 0, however much waits in hot', async () => {
    // Twenty minutes ahead nothing expires (the other tests' timeouts are 0-20 s, 3600 s, or in the past).
    const from = bucketOf(Date.now() + 20 * 60_000);
    await setCheckpoint(from);
    const opts: RunOptions = { now: (from + 4) * BUCKET_MS + config.DELIVERY_SETTLE_MS + 1 };

    const rec = recordingDb(db);
    const { log: runLog, lines } = capturingLogger();
    assert.equal(await runArchiver(rec.db, config, runLog, opts), 'success');
    const done = lines.find((l) => l.msg === 'archiver run done')!;
    assert.equal(done.swept, 0);
    assert.equal(done.buckets, 3);
    assert.equal(rec.count('expiry_index_scan'), 3 * 16, 'one read per shard of each new bucket');
    assert.equal(rec.count('insert_cold'), 0);
    assert.equal(rec.count('archiver_state_write'), 3);

    const again = recordingDb(db);
    const second = capturingLogger();
    assert.equal(await runArchiver(again.db, config, second.log, opts), 'success');
    const idle = second.lines.find((l) => l.msg === 'archiver run done')!;
    assert.equal(idle.swept, 0);
    assert.equal(idle.buckets, 0);
    assert.equal(again.count('expiry_index_scan'), 0);
    assert.ok(again.calls.length <= 4, `a caught-up run sent ${again.calls.length} statements: ${again.calls.map((c) => c.statement).join(', ')}`);
  });
});
