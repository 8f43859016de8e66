import { randomUUID } from 'node:crypto';
import { CasOutcomeUnknown, num, type Db } from '../storage/cassandra.js';
import { decideCas, outOfSight } from '../storage/cas.js';
import type { Cursor } from './delivery-decision.js';

/**
 * Claims a cursor row remembers, newest first: a read whose CAS answer was lost recognises its write as long as
 * fewer than this many writes landed on top of it before its SERIAL read-back. The node-kill history had one
 * (test/cluster/histories/node-kill-2026-11-29T17-07-12Z); 16 uuids are 256 bytes per user. Past that the outcome
 * stays unknown and the read is cut (in doubt, never silently short).
 */
export const CURSOR_CLAIM_HISTORY = 16;
/** Sends of one page's claim while every SERIAL read finds the row untouched; then the outcome stays unknown. */
const CLAIM_SENDS = 3;

/** Data access for delivery cursors: one row per user, changed only by compare-and-set. */
export class CursorStore {
  constructor(private readonly db: Db) {}

  /** `serial` reads through any Paxos round in flight (used to decide a conditional write's open outcome). */
  async readCursor(username: string, serial = false): Promise<Cursor> {
    const rs = await this.db.execute('select_cursor',
      `SELECT version, watermark, recent, claim, claims FROM ${this.db.hot}.delivery_cursors WHERE username = ?`,
      [username], serial ? { consistency: this.db.serial } : {});
    const r = rs.first();
    if (!r) return { version: 0, watermark: 0, recent: new Set(), claim: null, claims: [] };
    const recent = (r.get('recent') as unknown[] | null) ?? [];
    const text = (v: unknown) => (v as { toString(): string } | null)?.toString() ?? null;
    return {
      version: r.get('version') as number, watermark: num(r.get('watermark')), recent: new Set(recent.map(num)),
      claim: text(r.get('claim')),
      // Rows written before migration 10 have no list: their current claim is all they remember.
      claims: ((r.get('claims') as unknown[] | null) ?? [r.get('claim')]).map(text).filter((c) => c !== null),
    };
  }

  /**
   * Compare-and-set of the delivery cursor: the single conditional write of a page. Each send writes a fresh
   * `claim` and prepends it to `claims`. The condition includes the claim read, so a "not applied" answer that
   * shows one of our claims means our write did apply (a duplicate send) rather than a lost race. An open outcome
   * is settled by a SERIAL read that looks for our claims in `claims`: another read may already have written on top
   * of ours. Returns the cursor now stored, or null when another read won.
   */
  async advanceCursor(username: string, from: Cursor, watermark: number, recent: Iterable<number>):
    Promise<Cursor | null> {
    const ids = [...recent];
    const stored = (claim: string): Cursor => ({
      version: from.version + 1, watermark, recent: new Set(ids), claim,
      claims: [claim, ...from.claims].slice(0, CURSOR_CLAIM_HISTORY),
    });
    const statement = from.version === 0 ? 'cursor_create' : 'cursor_advance';
    const mine: string[] = [];
    for (;;) {
      const next = stored(randomUUID());
      mine.push(next.claim!);
      let found: string | undefined;
      let untouched = false;
      const applied = await decideCas(async () => {
        const rs = from.version === 0
          ? await this.db.execute(statement,
            `INSERT INTO ${this.db.hot}.delivery_cursors (username, version, watermark, recent, claim, claims)
             VALUES (?, 1, ?, ?, ?, ?) IF NOT EXISTS`, [username, watermark, ids, next.claim, next.claims])
          : await this.db.execute(statement,
            `UPDATE ${this.db.hot}.delivery_cursors SET version = ?, watermark = ?, recent = ?, claim = ?, claims = ?
             WHERE username = ? IF version = ? AND claim = ?`,
            [from.version + 1, watermark, ids, next.claim, next.claims, username, from.version, from.claim]);
        const shown = rs.first()?.get('claim')?.toString();
        found = rs.wasApplied() ? next.claim! : mine.find((c) => c === shown);
        return found !== undefined;
      }, async () => {
        const now = await this.readCursor(username, true);
        found = mine.find((c) => now.claims.includes(c));
        if (found) return true;
        // Had one of ours applied (as version from + 1), it would sit at index (now.version - from.version - 1).
        if (outOfSight(now.version, from.version, CURSOR_CLAIM_HISTORY)) return null;
        untouched = now.version === from.version;
        return false;
      });
      if (applied) return stored(found!);
      if (!untouched) return null;
      // None of ours shows and the row is as we read it, yet a send of ours may still be live at its coordinator (a
      // client-side timeout can fire while Paxos retries) and land after this read. Send again under a new claim:
      // whichever of ours lands first wins, and no later one can apply (the version moved).
      if (mine.length >= CLAIM_SENDS) throw new CasOutcomeUnknown(statement);
    }
  }
}
