/**
 * What the archiver suites (test/archiver/*.test.ts) share: their own keyspaces, made for the run and dropped after
 * it (the checkpoint is one row per keyspace and the tests move it), the seeding and reading helpers, and the
 * recording Db. The suite state (db, config, store, server) is exported as live bindings, set by the hooks that
 * archiverKeyspaces() registers in the calling describe.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { pino, type Logger } from 'pino';
import { log, startTestServer, testConfig, uniqueUser } from '../support/harness.js';
import { Db } from '../../src/storage/cassandra.js';
import { migrate } from '../../src/storage/migrator.js';
import { MessageStore } from '../../src/inbox/message-store.js';
import { BUCKET_MS, bucketOf } from '../../src/storage/time-buckets.js';
import type { StoredMessage } from '../../src/inbox/message.js';
import { firstIdAt } from '../../src/ids/id-layout.js';
import type { Config } from '../../src/config.js';
import type { RunningServer } from '../../src/server.js';
import { sleep } from '../../src/async.js';
import { processIdentity } from '../../src/process-identity.js';
import { cassandraSettings } from '../../src/settings.js';

/**
 * The archiver's checkpoint is one row per keyspace and the tests move it (and sweep "the future" with a fake
 * clock), so they run in keyspaces of their own, made for this run and dropped after it. Every assertion is about
 * messages these tests created.
 */
export const RUN_TAG = Date.now().toString(36);
export const KEYSPACE_RE = /^ephemera_arch_([a-z0-9]+)_(hot|cold)$/;
export const ENV: Record<string, string> = {
  CASSANDRA_HOT_KEYSPACE: `ephemera_arch_${RUN_TAG}_hot`,
  CASSANDRA_COLD_KEYSPACE: `ephemera_arch_${RUN_TAG}_cold`,
  ARCHIVER_LOCK: 'cassandra',
  ARCHIVER_LOCK_TTL_SECONDS: '5',
};

export interface LogLine { msg: string; [k: string]: unknown }
export interface ColdRow { username: string; text: string; expiredAt: Date; reason: string }


export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false,
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
export async function pool(n: number, width: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await task(next++);
  }));
}

/** A logger whose lines the test can read (the result line of a run carries swept/buckets). */
export function capturingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

export type ResultSet = Awaited<ReturnType<Db['execute']>>;
export interface Recorder { db: Db; calls: Array<{ statement: string; at: number }>; count(statement: string): number }

/**
 * The same Db with every statement recorded (name, time sent). `before` may delay or fail a statement before it
 * is sent; `after` sees each result.
 */
export function recordingDb(db: Db, hooks: {
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

export const isWrite = (c: { statement: string }) =>
  ['insert_cold', 'archiver_state_write', 'archiver_state_write_first'].includes(c.statement);

export function parseJsonLines(lines: string[]): LogLine[] {
  return lines.flatMap((l) => { try { return [JSON.parse(l) as LogLine]; } catch { return []; } });
}

export let config: Config;
export let db: Db;
export let store: MessageStore;
export let server: RunningServer;
export const children: ChildProcess[] = [];
let nextSeedId = firstIdAt(Date.now() - 2 * 3_600_000);
/** A fresh id for a seeded (backdated) message. */
export const seedId = (): number => nextSeedId++;

export { sleep };

/** Registers the suite's hooks in the calling describe: fresh migrated keyspaces, and an API server when asked. */
export function archiverKeyspaces(opts: { withServer?: boolean } = {}): void {
  before(async () => {
    config = testConfig(ENV);
    db = new Db(cassandraSettings(config), log);
    await db.connect();
    // Keyspaces of runs that died before their clean-up (hours old, so never a run in progress).
    const rs = await db.client.execute('SELECT keyspace_name FROM system_schema.keyspaces');
    for (const row of rs.rows) {
      const m = KEYSPACE_RE.exec(row.get('keyspace_name') as string);
      if (m && parseInt(m[1]!, 36) < Date.now() - 3 * 3_600_000) await dropKeyspace(m[0]);
    }
    await migrate(db, log, processIdentity(config.POD_NAME, 'migrator'));
    store = new MessageStore(db);
    if (opts.withServer) server = await startTestServer(ENV);
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
}

export async function dropKeyspace(name: string): Promise<void> {
  await db.client.execute(`DROP KEYSPACE IF EXISTS ${name}`, [], { readTimeout: 60_000 });
}

/**
 * Moves the checkpoint back, as an operator re-running old buckets would, and drops the per-shard progress: the
 * tests sweep "the future" with a fake clock, so progress recorded for a bucket that was not yet complete would
 * hide rows written into it since (a real run only ever walks complete buckets).
 */
export async function setCheckpoint(bucket: number): Promise<void> {
  await db.execute('test_checkpoint', `UPDATE ${db.hot}.archiver_state SET swept_until = ? WHERE name = 'archiver'`, [bucket]);
  await db.execute('test_progress_reset', `DELETE FROM ${db.hot}.archiver_progress WHERE name = 'archiver'`);
}

export async function checkpoint(): Promise<number> {
  const rs = await db.execute('test_checkpoint_read', `SELECT swept_until FROM ${db.hot}.archiver_state WHERE name = 'archiver'`);
  return Number(rs.first()!.get('swept_until'));
}

export async function lockRow(): Promise<{ holder: string; ttl: number } | null> {
  const rs = await db.execute('test_lock_read',
    `SELECT holder, TTL(holder) AS ttl FROM ${db.hot}.locks WHERE name = 'archiver'`, [], { consistency: db.serial });
  const r = rs.first();
  return r ? { holder: r.get('holder') as string, ttl: r.get('ttl') as number } : null;
}

export async function coldRows(ids: number[]): Promise<Map<number, ColdRow>> {
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
export async function coldMeta(ids: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const chunks = Array.from({ length: Math.ceil(ids.length / 100) }, (_, i) => ids.slice(i * 100, i * 100 + 100));
  await pool(chunks.length, 4, async (i) => {
    const rs = await db.execute('test_cold_meta', `SELECT id, expired_at FROM ${db.cold}.messages WHERE id IN ?`, [chunks[i]]);
    for (const r of rs.rows) out.set(Number(r.get('id')), (r.get('expired_at') as Date).getTime());
  });
  return out;
}

export async function hotExpiries(ids: number[]): Promise<Map<number, Date>> {
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
export async function seedExpired(count: number, minutesAgo: number, buckets: number): Promise<StoredMessage[]> {
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

export function assertAllArchived(messages: StoredMessage[], cold: Map<number, ColdRow>): void {
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
