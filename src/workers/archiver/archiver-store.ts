import { num, type Db } from '../../storage/cassandra.js';
import { schemaBirth } from '../../storage/migrator.js';
import { advanceCheckpoint } from '../../storage/forward-checkpoint.js';
import type { WalkSlice, WalkSource, WalkState } from '../../storage/bucket-walk.js';
import type { StoredMessage } from '../../inbox/message.js';

const STATE_KEY = 'archiver';

/** A place in one expiry-index shard: every index row up to (expiresAt, id) is in cold. */
export interface IndexPosition { expiresAt: Date; id: number }

/**
 * Data access of the archiver, as the bucket walk's source and state: slices of the expiry index, the checkpoint
 * (archiver_state) and each shard's progress inside the bucket being swept (archiver_progress).
 */
export class ArchiverStore implements WalkSource<StoredMessage, IndexPosition>, WalkState<IndexPosition> {
  constructor(private readonly db: Db) {}

  async checkpoint(): Promise<number | null> {
    const row = (await this.db.execute('archiver_state_read',
      `SELECT swept_until FROM ${this.db.hot}.archiver_state WHERE name = ?`, [STATE_KEY])).first();
    return row ? num(row.get('swept_until')) : null;
  }

  /** When the schema was born (ms): where a database without a checkpoint starts. */
  schemaBirth(): Promise<number | null> {
    return schemaBirth(this.db);
  }

  /** Forward only: a run that resumes after losing its lock must not put its older bucket back. */
  async setCheckpoint(bucket: number): Promise<void> {
    await advanceCheckpoint(this.db, { statement: 'archiver_state_write', table: `${this.db.hot}.archiver_state`,
      column: 'swept_until', where: 'name = ?', key: [STATE_KEY] }, bucket);
  }

  /** Progress of each shard inside `bucket` (shards with none recorded, or for another bucket, are absent). */
  async progress(bucket: number): Promise<Map<number, IndexPosition>> {
    const rs = await this.db.execute('archiver_progress_read',
      `SELECT shard, bucket, expires_at, id FROM ${this.db.hot}.archiver_progress WHERE name = ?`, [STATE_KEY]);
    const out = new Map<number, IndexPosition>();
    for (const r of rs.rows) {
      if (num(r.get('bucket')) !== bucket) continue;
      out.set(r.get('shard') as number, { expiresAt: r.get('expires_at') as Date, id: num(r.get('id')) });
    }
    return out;
  }

  async setProgress(bucket: number, shard: number, p: IndexPosition): Promise<void> {
    await this.db.execute('archiver_progress_write',
      `UPDATE ${this.db.hot}.archiver_progress SET bucket = ?, expires_at = ?, id = ? WHERE name = ? AND shard = ?`,
      [bucket, p.expiresAt, p.id, STATE_KEY, shard]);
  }

  /** The first `rows` index rows of a shard after `from` (exclusive); `more` when the shard goes on. */
  async scan(bucket: number, shard: number, from: IndexPosition | null, rows: number)
    : Promise<WalkSlice<StoredMessage, IndexPosition>> {
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
    const last = messages.at(-1);
    return { entries: messages, bytes, more: rs.pageState != null, last: last ? { expiresAt: last.expiresAt, id: last.id } : null };
  }
}
