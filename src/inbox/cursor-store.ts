import { randomUUID } from 'node:crypto';
import { num, type Db, type Row } from '../storage/cassandra.js';
import { decideCas } from '../storage/cas.js';
import type { Cursor } from './delivery-decision.js';

/** Data access for delivery cursors: one row per user, changed only by compare-and-set. */
export class CursorStore {
  constructor(private readonly db: Db) {}

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
}
