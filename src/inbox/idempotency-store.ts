import { num, type Db } from '../storage/cassandra.js';
import { decideCas } from '../storage/cas.js';
import { unavailable } from '../errors.js';

/** Data access for Idempotency-Keys: key → (id, fingerprint), claimed and re-pointed by compare-and-set. */
export class IdempotencyStore {
  constructor(private readonly db: Db) {}

  /**
   * Claims an Idempotency-Key for `id`; when it is taken, returns the id and fingerprint it holds. A key that
   * already holds `id` is ours (a duplicate send of this very claim); an open outcome is settled by a SERIAL read.
   */
  async claim(key: string, id: number, fingerprint: string, ttlSeconds: number) {
    let held: { id: number; fingerprint: string } | null = null;
    const applied = await decideCas(async () => {
      const rs = await this.db.execute('idempotency_claim',
        `INSERT INTO ${this.db.hot}.idempotency_keys (key, id, fingerprint) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?`,
        [key, id, fingerprint, ttlSeconds]);
      const row = rs.first();
      if (!rs.wasApplied()) held = { id: num(row?.get('id')), fingerprint: row?.get('fingerprint') as string };
      return rs.wasApplied() || held?.id === id;
    }, async () => {
      held = await this.read(key);
      return held?.id === id;
    });
    if (applied) return { applied: true, id, fingerprint };
    // An open outcome whose SERIAL read finds no row did not apply, and nobody holds the key: not a reuse (422)
    // but a claim to send again, which the client does on a 503.
    if (held === null) throw unavailable('storage did not answer in time, retry later');
    return { applied: false, ...(held as { id: number; fingerprint: string }) };
  }

  async read(key: string): Promise<{ id: number; fingerprint: string } | null> {
    const row = (await this.db.execute('idempotency_read',
      `SELECT id, fingerprint FROM ${this.db.hot}.idempotency_keys WHERE key = ?`, [key],
      { consistency: this.db.serial })).first();
    return row ? { id: num(row.get('id')), fingerprint: row.get('fingerprint') as string } : null;
  }

  /**
   * Points a key whose first attempt can no longer be acknowledged at a new id. Both cells get the new TTL, so
   * the row never outlives its fingerprint.
   */
  async retarget(key: string, fromId: number, toId: number, fingerprint: string, ttlSeconds: number) {
    return decideCas(async () => {
      const rs = await this.db.execute('idempotency_retarget',
        `UPDATE ${this.db.hot}.idempotency_keys USING TTL ? SET id = ?, fingerprint = ? WHERE key = ? IF id = ?`,
        [ttlSeconds, toId, fingerprint, key, fromId]);
      return rs.wasApplied() || num(rs.first()?.get('id')) === toId;
    }, async () => (await this.read(key))?.id === toId);
  }
}
