import type { Db } from './cassandra.js';
import { decideCas } from './cas.js';

/**
 * A lease row claimed with a lightweight transaction and kept alive by conditional renewals. The row's TTL
 * frees the lock when its holder dies; every change is conditional on the holder, so two holders never coexist.
 * Conditional writes are never re-sent by the driver (a re-sent applied CAS would answer "not applied").
 */
export class LwtLock {
  constructor(
    private readonly db: Db,
    readonly name: string,
    readonly holder: string,
    private readonly ttlSeconds: number,
  ) {}

  /** A "not applied" answer that names us as holder is our own earlier send of this acquire. */
  async tryAcquire(): Promise<boolean> {
    return decideCas(async () => {
      const rs = await this.db.execute('lock_acquire',
        `INSERT INTO ${this.db.hot}.locks (name, holder, acquired_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?`,
        [this.name, this.holder, new Date(), this.ttlSeconds]);
      return rs.wasApplied() || rs.first()?.get('holder') === this.holder;
    }, async () => (await this.currentHolder()) === this.holder);
  }

  /** Extends the lease; false means it was lost (expired and possibly taken by someone else). */
  async renew(): Promise<boolean> {
    const rs = await this.db.execute('lock_renew',
      `UPDATE ${this.db.hot}.locks USING TTL ? SET holder = ?, acquired_at = ? WHERE name = ? IF holder = ?`,
      [this.ttlSeconds, this.holder, new Date(), this.name, this.holder], { idempotent: false });
    return rs.wasApplied();
  }

  async release(): Promise<void> {
    await this.db.execute('lock_release',
      `DELETE FROM ${this.db.hot}.locks WHERE name = ? IF holder = ?`, [this.name, this.holder], { idempotent: false });
  }

  async currentHolder(): Promise<string | null> {
    const rs = await this.db.execute('lock_read', `SELECT holder FROM ${this.db.hot}.locks WHERE name = ?`,
      [this.name], { consistency: this.db.serial });
    return (rs.first()?.get('holder') as string | undefined) ?? null;
  }
}
