import { num, type Db } from '../storage/cassandra.js';

/** A counter write's answer: applied, or what the row holds now (`current` null = no row; `claim` its writer's id). */
export interface CasOutcome { applied: boolean; current: number | null; claim: string | null }

/** The counter row as a SERIAL read settles it. */
export interface SettledCounter { next: number | null; claim: string | null }

/**
 * The per-parent number counters: `next` is the first number not yet claimed, `claim` the id of the write that
 * set it (one fresh uuid per attempt), so an allocator whose write's answer was lost can tell its own range from
 * another's. Every write is conditional and sent as non-idempotent, so the driver never re-sends a
 * compare-and-set whose first attempt may have applied.
 */
export class CounterStore {
  constructor(private readonly db: Db) {}

  /** The plain (non-Paxos) value: what lists use to know where numbers end. */
  async read(appId: string, scope: number): Promise<number | null> {
    const row = (await this.db.execute('counter_read',
      `SELECT next FROM ${this.db.hot}.number_counters WHERE app_id = ? AND chat_number = ?`, [appId, scope])).first();
    return row ? num(row.get('next')) : null;
  }

  /**
   * The last number claimed under a parent (0 before the first claim): `next` is the first number not yet
   * claimed, and a parent without a counter row has claimed nothing. Where lists and walks stop.
   */
  async lastNumber(appId: string, scope: number): Promise<number> {
    return ((await this.read(appId, scope)) ?? 1) - 1;
  }

  /** Reads through Paxos: it finishes any round in flight, so the value (and whose write set it) is settled. */
  async settle(appId: string, scope: number): Promise<SettledCounter> {
    const row = (await this.db.execute('counter_read_serial',
      `SELECT next, claim FROM ${this.db.hot}.number_counters WHERE app_id = ? AND chat_number = ?`, [appId, scope],
      { consistency: this.db.serial })).first();
    return row ? { next: num(row.get('next')), claim: claimOf(row.get('claim')) } : { next: null, claim: null };
  }

  create(appId: string, scope: number, next: number, claim: string): Promise<CasOutcome> {
    return this.cas('counter_create',
      `INSERT INTO ${this.db.hot}.number_counters (app_id, chat_number, next, claim) VALUES (?, ?, ?, ?) IF NOT EXISTS`,
      [appId, scope, next, claim]);
  }

  advance(appId: string, scope: number, expected: number, next: number, claim: string): Promise<CasOutcome> {
    // `claim != <ours>` always holds before our write (the uuid is fresh; a null claim passes too): it is there
    // so a not-applied answer carries the row's claim, and a re-sent applied write shows itself as ours.
    return this.cas('counter_advance',
      `UPDATE ${this.db.hot}.number_counters SET next = ?, claim = ? WHERE app_id = ? AND chat_number = ?
       IF next = ? AND claim != ?`,
      [next, claim, appId, scope, expected, claim]);
  }

  private async cas(statement: string, cql: string, params: unknown[]): Promise<CasOutcome> {
    const rs = await this.db.execute(statement, cql, params, { idempotent: false });
    const row = rs.first();
    const current = row?.get('next');
    return { applied: rs.wasApplied(), current: current === null || current === undefined ? null : num(current),
      claim: claimOf(row?.get('claim')) };
  }
}

const claimOf = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
