import { randomUUID } from 'node:crypto';
import { num, type Db, type Row } from '../storage/cassandra.js';
import { decideCas } from '../storage/cas.js';
import type { StoredMessage } from './message.js';
import type { Cursor, PendingRow } from './delivery-decision.js';

/** Expiry-index bucket width and shard count: fixed, since changing them would orphan index rows. */
export const BUCKET_MS = 60_000;
export const EXPIRY_SHARDS = 16;
/**
 * Cold rows are written `USING TIMESTAMP COLD_TS_BASE - expired_at(µs)`: the earliest expiry wins, whoever
 * writes last. A read-consumed message (expired when read) keeps that moment even if the archiver later
 * sweeps its original timeout, and every cold write is idempotent.
 */
const COLD_TS_BASE = 2 ** 53;
/**
 * Small statements share an unlogged batch (one round trip) while the batch stays under BATCH_BYTES of text and
 * BATCH_MESSAGES messages: Cassandra logs a warning for every batch over 5 KiB or over 10 partitions, and
 * refuses multi-partition batches over 50 KiB, so larger texts are written statement by statement.
 */
const BATCH_BYTES = 2048;
const BATCH_MESSAGES = 4;
/**
 * A fence must outlive the write it shadows (TTL timeout + 60 s) by more than gc_grace (3 h on that table): once
 * the fence's tombstone is purged, a shadowed cell in another SSTable would show again.
 */
const USER_ROW_FENCE_EXTRA_SECONDS = 4 * 3_600;
/** Requests one call keeps in flight when it writes many messages. */
const WRITES_IN_FLIGHT = 64;

export const bucketOf = (ms: number) => Math.floor(ms / BUCKET_MS);
export const shardOf = (id: number) => (Math.floor(id / 4096) + (id % 4096)) % EXPIRY_SHARDS;

/** A prepared statement with the bytes of message text it carries (what batch limits are about). */
interface Statement { name: string; query: string; params: unknown[]; textBytes: number }

/** Runs `work` over `items`, `width` at a time. */
async function inWaves<T>(items: T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(work));
}
export type { Cursor } from './delivery-decision.js';
export type ColdReason = 'read' | 'timeout';

/** Data access for messages: CQL in, plain objects out. */
export class MessageStore {
  constructor(private readonly db: Db) {}

  /**
   * Index and by-id rows first, the per-user row last: a message becomes listable only once everything that
   * serves it by id and archives it exists. Rows live `ttlSeconds` (timeout + grace) and then vanish by TTL;
   * the per-user row only needs to outlive the timeout (lists skip expired rows), which keeps partitions small.
   * `beforeListable` runs just before the per-user row is sent and may throw to leave the message unlistable.
   */
  async insert(m: StoredMessage, ttlSeconds: number, userTtlSeconds = ttlSeconds,
    beforeListable: () => void = () => undefined): Promise<void> {
    const { hot } = this.db;
    const textBytes = Buffer.byteLength(m.text);
    await this.send('insert_message_and_index', [[
      {
        name: 'insert_message_by_id', textBytes,
        query: `INSERT INTO ${hot}.messages_by_id (id, username, text, expires_at) VALUES (?, ?, ?, ?) USING TTL ?`,
        params: [m.id, m.username, m.text, m.expiresAt, ttlSeconds],
      },
      {
        name: 'insert_expiry_index', textBytes,
        query: `INSERT INTO ${hot}.expiry_index (bucket, shard, expires_at, id, username, text)
         VALUES (?, ?, ?, ?, ?, ?) USING TTL ?`,
        params: [bucketOf(m.expiresAt.getTime()), shardOf(m.id), m.expiresAt, m.id, m.username, m.text, ttlSeconds],
      },
    ]]);
    beforeListable();
    await this.db.execute('insert_message_by_user',
      `INSERT INTO ${hot}.messages_by_user (username, id, text, expires_at) VALUES (?, ?, ?, ?) USING TTL ?`,
      [m.username, m.id, m.text, m.expiresAt, userTtlSeconds]);
  }

  /**
   * The hot row answers while it lives: a consumed message carries `consumed_at` there (see markConsumed), a
   * timed-out one its `expires_at`. Cold is read only once the hot row has gone (TTL past the grace period).
   */
  async findById(id: number): Promise<StoredMessage | null> {
    const hot = (await this.db.execute('select_hot_by_id',
      `SELECT username, text, expires_at, consumed_at FROM ${this.db.hot}.messages_by_id WHERE id = ?`, [id])).first();
    if (hot?.get('username') != null) {
      return { id, username: hot.get('username'), text: hot.get('text'), expiresAt: hot.get('consumed_at') ?? hot.get('expires_at') };
    }
    const cold = (await this.db.execute('select_cold_by_id',
      `SELECT username, text, expired_at FROM ${this.db.cold}.messages WHERE id = ?`, [id])).first();
    return cold ? { id, username: cold.get('username'), text: cold.get('text'), expiresAt: cold.get('expired_at') } : null;
  }

  /** `serial` reads through any Paxos round in flight (used to decide a conditional write's open outcome). */
  async readCursor(username: string, serial = false): Promise<Cursor> {
    const rs = await this.db.execute('select_cursor',
      `SELECT version, watermark, recent, claim FROM ${this.db.hot}.delivery_cursors WHERE username = ?`, [username],
      serial ? { consistency: this.db.serial } : {});
    const r = rs.first();
    if (!r) return { version: 0, watermark: 0, recent: new Set(), claim: null };
    const recent = (r.get('recent') as unknown[] | null) ?? [];
    return {
      version: r.get('version') as number, watermark: num(r.get('watermark')), recent: new Set(recent.map(num)),
      claim: (r.get('claim') as { toString(): string } | null)?.toString() ?? null,
    };
  }

  /**
   * One page of the user's partition above the watermark, oldest first. `fetchSize` rows at most: the caller
   * sizes it by bytes (texts reach 64 KiB each).
   */
  async readPending(username: string, afterId: number, fetchSize: number, pageState?: string):
    Promise<{ rows: PendingRow[]; bytes: number; pageState: string | undefined }> {
    const rs = await this.db.execute('select_pending',
      `SELECT id, text, expires_at FROM ${this.db.hot}.messages_by_user WHERE username = ? AND id > ?`,
      [username, afterId], { fetchSize, pageState });
    let bytes = 0;
    const rows = rs.rows.map((r: Row) => {
      const text = r.get('text') as string;
      bytes += text.length * 2;
      return { id: num(r.get('id')), text, expiresAt: r.get('expires_at') as Date };
    });
    return { rows, bytes, pageState: rs.pageState ?? undefined };
  }

  /**
   * Compare-and-set of the delivery cursor: the single conditional write of a page. Each attempt writes a fresh
   * `claim`, and the condition includes the claim read, so a "not applied" answer that shows our own claim means
   * our write did apply (a duplicate send) rather than a lost race; an open outcome is settled by a SERIAL read.
   * Returns the claim written, or null when another read won.
   */
  async advanceCursor(username: string, from: Cursor, watermark: number, recent: Iterable<number>):
    Promise<string | null> {
    const ids = [...recent];
    const claim = randomUUID();
    const ours = (row: Row | undefined) => row?.get('claim')?.toString() === claim;
    const applied = await decideCas(async () => {
      const rs = from.version === 0
        ? await this.db.execute('cursor_create',
          `INSERT INTO ${this.db.hot}.delivery_cursors (username, version, watermark, recent, claim)
           VALUES (?, 1, ?, ?, ?) IF NOT EXISTS`, [username, watermark, ids, claim])
        : await this.db.execute('cursor_advance',
          `UPDATE ${this.db.hot}.delivery_cursors SET version = ?, watermark = ?, recent = ?, claim = ?
           WHERE username = ? IF version = ? AND claim = ?`,
          [from.version + 1, watermark, ids, claim, username, from.version, from.claim]);
      return rs.wasApplied() || ours(rs.first());
    }, async () => (await this.readCursor(username, true)).claim === claim);
    return applied ? claim : null;
  }

  /**
   * Claims an Idempotency-Key for `id`; when it is taken, returns the id and fingerprint it holds. A key that
   * already holds `id` is ours (a duplicate send of this very claim); an open outcome is settled by a SERIAL read.
   */
  async claimIdempotencyKey(key: string, id: number, fingerprint: string, ttlSeconds: number) {
    let held: { id: number; fingerprint: string } | null = null;
    const applied = await decideCas(async () => {
      const rs = await this.db.execute('idempotency_claim',
        `INSERT INTO ${this.db.hot}.idempotency_keys (key, id, fingerprint) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?`,
        [key, id, fingerprint, ttlSeconds]);
      const row = rs.first();
      if (!rs.wasApplied()) held = { id: num(row?.get('id')), fingerprint: row?.get('fingerprint') as string };
      return rs.wasApplied() || held?.id === id;
    }, async () => {
      held = await this.readIdempotencyKey(key);
      return held?.id === id;
    });
    return applied ? { applied: true, id, fingerprint } : { applied: false, ...held! };
  }

  async readIdempotencyKey(key: string): Promise<{ id: number; fingerprint: string } | null> {
    const row = (await this.db.execute('idempotency_read',
      `SELECT id, fingerprint FROM ${this.db.hot}.idempotency_keys WHERE key = ?`, [key],
      { consistency: this.db.serial })).first();
    return row ? { id: num(row.get('id')), fingerprint: row.get('fingerprint') as string } : null;
  }

  /**
   * Points a key whose first attempt can no longer be acknowledged at a new id. Both cells get the new TTL, so
   * the row never outlives its fingerprint.
   */
  async retargetIdempotencyKey(key: string, fromId: number, toId: number, fingerprint: string, ttlSeconds: number) {
    return decideCas(async () => {
      const rs = await this.db.execute('idempotency_retarget',
        `UPDATE ${this.db.hot}.idempotency_keys USING TTL ? SET id = ?, fingerprint = ? WHERE key = ? IF id = ?`,
        [ttlSeconds, toId, fingerprint, key, fromId]);
      return rs.wasApplied() || num(rs.first()?.get('id')) === toId;
    }, async () => (await this.readIdempotencyKey(key))?.id === toId);
  }

  /** When the per-user (listable) row of a message was written, by its writer's clock; null if it is absent. */
  async userRowWrittenAt(username: string, id: number): Promise<number | null> {
    const row = (await this.db.execute('select_user_row_writetime',
      `SELECT WRITETIME(text) AS w FROM ${this.db.hot}.messages_by_user WHERE username = ? AND id = ?`,
      [username, id])).first();
    return row ? Math.floor(num(row.get('w')) / 1000) : null;
  }

  /**
   * Makes a message that was never acknowledged unlistable for good: its per-user row is overwritten as expired at
   * a write timestamp (`fenceAtMs`) later than any its own attempt could still send, so a late write of that
   * attempt loses the reconciliation and cannot bring the row back.
   */
  async fenceUserRow(username: string, id: number, fenceAtMs: number, ttlSeconds: number): Promise<void> {
    await this.db.execute('fence_user_row',
      `INSERT INTO ${this.db.hot}.messages_by_user (username, id, text, expires_at) VALUES (?, ?, '', ?)
       USING TTL ? AND TIMESTAMP ?`,
      [username, id, new Date(0), ttlSeconds + USER_ROW_FENCE_EXTRA_SECONDS, fenceAtMs * 1000]);
  }

  /** Whether a list read consumed the message (its hot row carries `consumed_at`). */
  async wasConsumed(id: number): Promise<boolean> {
    const row = (await this.db.execute('select_consumed_at',
      `SELECT consumed_at FROM ${this.db.hot}.messages_by_id WHERE id = ?`, [id])).first();
    return row?.get('consumed_at') != null;
  }

  async writeCold(messages: StoredMessage[], reason: ColdReason, concurrency = WRITES_IN_FLIGHT): Promise<void> {
    await inWaves(messages, concurrency, (m) => {
      const cold = this.coldInsert(m, reason);
      return this.db.execute(cold.name, cold.query, cold.params);
    });
  }

  /**
   * Messages a read just consumed at `consumedAt`: each gets its cold row (expired then) and `consumed_at` on its
   * hot by-id row, so a get needs one read. The new cell expires a second before the row it joins (created with
   * TTL timeout + grace).
   */
  async markConsumed(messages: StoredMessage[], consumedAt: Date, hotGraceSeconds: number): Promise<void> {
    await this.send('mark_consumed', messages.map((m) => {
      const ttl = Math.floor((m.expiresAt.getTime() - consumedAt.getTime()) / 1000) + hotGraceSeconds - 1;
      const cold = this.coldInsert({ ...m, expiresAt: consumedAt }, 'read');
      return ttl > 0 ? [cold, {
        name: 'mark_consumed_hot', textBytes: 0,
        query: `UPDATE ${this.db.hot}.messages_by_id USING TTL ? SET consumed_at = ? WHERE id = ?`,
        params: [ttl, consumedAt, m.id],
      }] : [cold];
    }));
  }

  /**
   * Sends each message's statements in as few round trips as the batch limits allow: whole messages share an
   * unlogged batch (named `batchName`) up to BATCH_BYTES of text and BATCH_MESSAGES messages; a message over
   * the limit on its own goes statement by statement.
   */
  private async send(batchName: string, messages: Statement[][]): Promise<void> {
    const requests: Statement[][] = [];
    let open: Statement[] = [];
    let bytes = 0;
    let count = 0;
    for (const statements of messages) {
      const size = statements.reduce((n, st) => n + st.textBytes, 0);
      if (size > BATCH_BYTES) {
        requests.push(...statements.map((st) => [st]));
        continue;
      }
      if (count === BATCH_MESSAGES || bytes + size > BATCH_BYTES) {
        requests.push(open);
        open = [];
        bytes = 0;
        count = 0;
      }
      open.push(...statements);
      bytes += size;
      count++;
    }
    if (open.length) requests.push(open);
    await inWaves(requests, WRITES_IN_FLIGHT, (r) => (r.length === 1
      ? this.db.execute(r[0]!.name, r[0]!.query, r[0]!.params)
      : this.db.batch(batchName, r)));
  }

  private coldInsert(m: StoredMessage, reason: ColdReason): Statement {
    return {
      name: 'insert_cold',
      textBytes: Buffer.byteLength(m.text),
      query: `INSERT INTO ${this.db.cold}.messages (id, username, text, expired_at, reason) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?`,
      params: [m.id, m.username, m.text, m.expiresAt, reason, COLD_TS_BASE - m.expiresAt.getTime() * 1000],
    };
  }
}
