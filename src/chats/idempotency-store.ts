import { num, type Db } from '../storage/cassandra.js';

export interface KeyClaim { applied: boolean; number: number; fingerprint: string }

/** A key as stored: `claimedAt` (epoch ms) is when it was last bound to its number (the cell's write time). */
export interface StoredKey { number: number; fingerprint: string; claimedAt: number }

/** Idempotency-Key -> number per parent (chat number 0 = the application's chat creates), claimed with an LWT. */
export class ChatIdempotencyStore {
  constructor(private readonly db: Db) {}

  async find(appId: string, scope: number, key: string, serial = false): Promise<StoredKey | null> {
    const row = (await this.db.execute(serial ? 'chat_key_read_serial' : 'chat_key_read',
      `SELECT number, fingerprint, WRITETIME(number) AS claimed FROM ${this.db.hot}.chat_idempotency_keys
       WHERE app_id = ? AND chat_number = ? AND key = ?`,
      [appId, scope, key], serial ? { consistency: this.db.serial } : {})).first();
    return row ? { number: num(row.get('number')), fingerprint: row.get('fingerprint') as string,
      claimedAt: Math.floor(num(row.get('claimed')) / 1000) } : null;
  }

  async claim(appId: string, scope: number, key: string, number: number, fingerprint: string,
    ttlSeconds: number): Promise<KeyClaim> {
    const rs = await this.db.execute('chat_key_claim',
      `INSERT INTO ${this.db.hot}.chat_idempotency_keys (app_id, chat_number, key, number, fingerprint)
       VALUES (?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?`,
      [appId, scope, key, number, fingerprint, ttlSeconds], { idempotent: false });
    if (rs.wasApplied()) return { applied: true, number, fingerprint };
    const row = rs.first();
    return { applied: false, number: num(row.get('number')), fingerprint: row.get('fingerprint') as string };
  }

  /**
   * Re-points a key from `from` to `to`, only while it still names `from` (the key's row keeps its TTL from now).
   * Returns whether the key names `to` afterwards; an unknown outcome is settled by a SERIAL read.
   */
  async retarget(appId: string, scope: number, key: string, from: number, to: number, fingerprint: string,
    ttlSeconds: number): Promise<boolean> {
    try {
      const rs = await this.db.execute('chat_key_retarget',
        `UPDATE ${this.db.hot}.chat_idempotency_keys USING TTL ? SET number = ?, fingerprint = ?
         WHERE app_id = ? AND chat_number = ? AND key = ? IF number = ?`,
        [ttlSeconds, to, fingerprint, appId, scope, key, from], { idempotent: false });
      if (rs.wasApplied()) return true;
      const held: unknown = rs.first()?.get('number');
      return held !== null && held !== undefined && num(held) === to;
    } catch (err) {
      const now = await this.find(appId, scope, key, true).catch(() => { throw err; });
      return now?.number === to;
    }
  }
}
