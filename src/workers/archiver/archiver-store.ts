import { num, type Db } from '../../storage/cassandra.js';
import type { StoredMessage } from '../../inbox/message.js';

const STATE_KEY = 'archiver';

/** Where one shard of the bucket being swept got to: every index row up to (expiresAt, id) is in cold. */
export interface ShardProgress { bucket: number; expiresAt: Date; id: number }

/** Data access of the archiver: its checkpoint, per-shard progress within a bucket, and index slices. */
export class ArchiverStore {
  constructor(private readonly db: Db) {}

  async checkpoint(): Promise<number | null> {
    const row = (await this.db.execute('archiver_state_read',
      `SELECT swept_until FROM ${this.db.hot}.archiver_state WHERE name = ?`, [STATE_KEY])).first();
    return row ? num(row.get('swept_until')) : null;
  }

  async setCheckpoint(bucket: number): Promise<void> {
    await this.db.execute('archiver_state_write',
      `UPDATE ${this.db.hot}.archiver_state SET swept_until = ?, updated_at = ? WHERE name = ?`,
      [bucket, new Date(), STATE_KEY]);
  }

  /** Progress of each shard inside `bucket` (shards with none recorded, or for another bucket, are absent). */
  async progress(bucket: number): Promise<Map<number, ShardProgress>> {
    const rs = await this.db.execute('archiver_progress_read',
      `SELECT shard, bucket, expires_at, id FROM ${this.db.hot}.archiver_progress WHERE name = ?`, [STATE_KEY]);
    const out = new Map<number, ShardProgress>();
    for (const r of rs.rows) {
      if (num(r.get('bucket')) !== bucket) continue;
      out.set(r.get('shard') as number, { bucket, expiresAt: r.get('expires_at') as Date, id: num(r.get('id')) });
    }
    return out;
  }

  async setProgress(shard: number, p: ShardProgress): Promise<void> {
    await this.db.execute('archiver_progress_write',
      `UPDATE ${this.db.hot}.archiver_progress SET bucket = ?, expires_at = ?, id = ? WHERE name = ? AND shard = ?`,
      [p.bucket, p.expiresAt, p.id, STATE_KEY, shard]);
  }

  /** The first `rows` index rows of a shard after `from` (exclusive); `more` when the shard goes on. */
  async scan(bucket: number, shard: number, from: ShardProgress | undefined, rows: number) {
    const rs = from
      ? await this.db.execute('expiry_index_scan_from',
        `SELECT expires_at, id, username, text FROM ${this.db.hot}.expiry_index
         WHERE bucket = ? AND shard = ? AND (expires_at, id) > (?, ?)`,
        [bucket, shard, from.expiresAt, from.id], { fetchSize: rows })
      : await this.db.execute('expiry_index_scan',
        `SELECT expires_at, id, username, text FROM ${this.db.hot}.expiry_index WHERE bucket = ? AND shard = ?`,
        [bucket, shard], { fetchSize: rows });
    let bytes = 0;
    const messages = rs.rows.map((r): StoredMessage => {
      const text = r.get('text') as string;
      bytes += text.length * 2;
      return { id: num(r.get('id')), username: r.get('username') as string, text, expiresAt: r.get('expires_at') as Date };
    });
    return { messages, bytes, more: rs.pageState != null };
  }
}
