import { num, type Db, type Row } from '../storage/cassandra.js';
import { sendGrouped } from '../storage/statement-batcher.js';
import { bucketOf } from '../storage/time-buckets.js';
import type { StoredMessage } from './message.js';
import type { PendingRow } from './delivery-decision.js';
import { shardOf } from './expiry-index.js';

/**
 * A fence must outlive the write it shadows (TTL timeout + 60 s) by more than gc_grace (3 h on that table): once
 * the fence's tombstone is purged, a shadowed cell in another SSTable would show again.
 */
const USER_ROW_FENCE_EXTRA_SECONDS = 4 * 3_600;

/** Data access for hot messages (by id, by user, expiry index): CQL in, plain objects out. */
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
    await sendGrouped(this.db, 'insert_message_and_index', [[
      {
        name: 'insert_message_by_id', payloadBytes: textBytes,
        query: `INSERT INTO ${hot}.messages_by_id (id, username, text, expires_at) VALUES (?, ?, ?, ?) USING TTL ?`,
        params: [m.id, m.username, m.text, m.expiresAt, ttlSeconds],
      },
      {
        name: 'insert_expiry_index', payloadBytes: textBytes,
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
}
