import type { Db } from '../storage/cassandra.js';
import { sendGrouped, WRITES_IN_FLIGHT, type Statement } from '../storage/statement-batcher.js';
import type { StoredMessage } from './message.js';
import { inParallel } from '../async.js';

/**
 * Cold rows are written `USING TIMESTAMP COLD_TS_BASE - expired_at(µs)`: the earliest expiry wins, whoever
 * writes last. A read-consumed message (expired when read) keeps that moment even if the archiver later
 * sweeps its original timeout, and every cold write is idempotent.
 */
const COLD_TS_BASE = 2 ** 53;

export type ColdReason = 'read' | 'timeout';

/** Data access for the cold copies of expired messages (and the hot mark a read leaves). */
export class ColdStore {
  constructor(private readonly db: Db) {}

  async writeCold(messages: StoredMessage[], reason: ColdReason, concurrency = WRITES_IN_FLIGHT): Promise<void> {
    await inParallel(messages, concurrency, (m) => {
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
    await sendGrouped(this.db, 'mark_consumed', messages.map((m) => {
      const ttl = Math.floor((m.expiresAt.getTime() - consumedAt.getTime()) / 1000) + hotGraceSeconds - 1;
      const cold = this.coldInsert({ ...m, expiresAt: consumedAt }, 'read');
      return ttl > 0 ? [cold, {
        name: 'mark_consumed_hot', payloadBytes: 0,
        query: `UPDATE ${this.db.hot}.messages_by_id USING TTL ? SET consumed_at = ? WHERE id = ?`,
        params: [ttl, consumedAt, m.id],
      }] : [cold];
    }));
  }

  private coldInsert(m: StoredMessage, reason: ColdReason): Statement {
    return {
      name: 'insert_cold',
      payloadBytes: Buffer.byteLength(m.text),
      query: `INSERT INTO ${this.db.cold}.messages (id, username, text, expired_at, reason) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?`,
      params: [m.id, m.username, m.text, m.expiresAt, reason, COLD_TS_BASE - m.expiresAt.getTime() * 1000],
    };
  }
}
