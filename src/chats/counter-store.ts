import { num, type Db } from '../storage/cassandra.js';

export interface CasOutcome { applied: boolean; current: number | null }

/**
 * The per-parent number counters: `next` is the first number not yet claimed. Every write is conditional and
 * sent as non-idempotent, so the driver never re-sends a compare-and-set whose first attempt may have applied.
 */
export class CounterStore {
  constructor(private readonly db: Db) {}

  /** `serial` reads through Paxos: it finishes any round in flight, so the value is settled. */
  async read(appId: string, scope: number, serial = false): Promise<number | null> {
    const row = (await this.db.execute(serial ? 'counter_read_serial' : 'counter_read',
      `SELECT next FROM ${this.db.hot}.number_counters WHERE app_id = ? AND chat_number = ?`, [appId, scope],
      serial ? { consistency: this.db.serial } : {})).first();
    return row ? num(row.get('next')) : null;
  }

  create(appId: string, scope: number, next: number): Promise<CasOutcome> {
    return this.cas('counter_create',
      `INSERT INTO ${this.db.hot}.number_counters (app_id, chat_number, next) VALUES (?, ?, ?) IF NOT EXISTS`,
      [appId, scope, next]);
  }

  advance(appId: string, scope: number, expected: number, next: number): Promise<CasOutcome> {
    return this.cas('counter_advance',
      `UPDATE ${this.db.hot}.number_counters SET next = ? WHERE app_id = ? AND chat_number = ? IF next = ?`,
      [next, appId, scope, expected]);
  }

  private async cas(statement: string, cql: string, params: unknown[]): Promise<CasOutcome> {
    const rs = await this.db.execute(statement, cql, params, { idempotent: false });
    const row = rs.first();
    const current = row?.get('next');
    return { applied: rs.wasApplied(), current: current === null || current === undefined ? null : num(current) };
  }
}
