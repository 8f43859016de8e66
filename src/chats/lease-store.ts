import type { Db } from '../storage/cassandra.js';
import { casResult, KEY, keyOf, type CasResult } from './message-store.js';
import type { EditLease } from './types.js';

/**
 * Edit leases, kept as two TTL'd cells (`lease_token`, `lease_expires_at`) on the message row itself, so an edit
 * checks the lease and the version in the same Paxos round (one partition, one condition) and no edit can slip
 * in between a lease check and its write. Every statement is conditional, like every other write to the row;
 * `version > 0` is there because a condition on null cells alone would hold for a row that does not exist.
 */
export class LeaseStore {
  constructor(private readonly db: Db) {}

  /**
   * Cassandra expires a cell at (whole seconds now) + TTL, so a TTL of n ends 0-1 s early; one second more
   * means a lease never ends before the `expires_at` it was granted with (and at most 1 s after it).
   */
  private static cellTtl(ttlSeconds: number): number { return ttlSeconds + 1; }

  /** Takes the lease if nobody holds it (an expired lease's cells are gone: its TTL ended). */
  async acquire(appId: string, chat: number, number: number, lease: EditLease, ttlSeconds: number): Promise<CasResult> {
    const rs = await this.db.execute('chat_lease_acquire',
      `UPDATE ${this.db.hot}.chat_messages USING TTL ? SET lease_token = ?, lease_expires_at = ? WHERE ${KEY}
       IF version > 0 AND deleted_at = null AND lease_token = null`,
      [LeaseStore.cellTtl(ttlSeconds), lease.token, lease.expiresAt, ...keyOf(appId, chat, number)]);
    return casResult(rs.first());
  }

  /** Extends the lease, only while `lease.token` still holds it. */
  async renew(appId: string, chat: number, number: number, lease: EditLease, ttlSeconds: number): Promise<CasResult> {
    const rs = await this.db.execute('chat_lease_renew',
      `UPDATE ${this.db.hot}.chat_messages USING TTL ? SET lease_token = ?, lease_expires_at = ? WHERE ${KEY}
       IF version > 0 AND deleted_at = null AND lease_token = ?`,
      [LeaseStore.cellTtl(ttlSeconds), lease.token, lease.expiresAt, ...keyOf(appId, chat, number), lease.token]);
    return casResult(rs.first());
  }

  /** Ends the lease now, only if `token` holds it (two cell tombstones, see docs/api.md, Editing). */
  async release(appId: string, chat: number, number: number, token: string): Promise<CasResult> {
    const rs = await this.db.execute('chat_lease_release',
      `UPDATE ${this.db.hot}.chat_messages SET lease_token = null, lease_expires_at = null WHERE ${KEY}
       IF lease_token = ?`,
      [...keyOf(appId, chat, number), token]);
    return casResult(rs.first());
  }
}
