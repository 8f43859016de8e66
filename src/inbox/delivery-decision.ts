import { idTime } from '../ids/id-layout.js';

/**
 * What a list read knows about a user's delivery cursor. `claim` names the read that wrote it last; `claims` the
 * last few writes' claims, newest first (`claim` included), so a read can tell its write applied even after
 * others wrote on top of it.
 */
export interface Cursor {
  version: number; watermark: number; recent: Set<number>; claim: string | null; claims: string[];
}
export interface PendingRow { id: number; text: string; expiresAt: Date }

/** Handled rows (expired or already delivered) skipped before a read moves the watermark past them anyway. */
export const SKIP_COMMIT_THRESHOLD = 100;
/**
 * Settled deliveries that may leave `recent` before a page that delivers nothing commits to drop them. Below this,
 * later reads re-read those few rows (~150 B each) and skip them, and the next delivering page drops them for free:
 * cheaper than a Paxos round (4 replica round trips + a write). At 1 this cost a quarter of an LWT per empty list
 * (make bench-statements, list-empty), one per delivery for a client that polls after the 10 s settle window.
 */
export const RECENT_PRUNE_THRESHOLD = 16;

export interface PageDecision {
  /** The rows this page delivers, oldest first. */
  due: PendingRow[];
  /** The cursor to compare-and-set, when the page needs a write at all. */
  next: { watermark: number; recent: Set<number> } | null;
  /** Rows of this page that were examined and not delivered (expired or already delivered). */
  skipped: number;
}

/**
 * The cursor rule of one page, pure. A row is due when it was not delivered yet (not in `recent`, above the
 * watermark since the slice starts there) and its expiry lies after both the page's time and its own creation
 * (so `timeout: 0`, expired at birth, is never listed, and a read never records a time before a creation).
 * The watermark moves up to the last examined id but never past `settled`: ids above it could still gain
 * earlier neighbours, so delivered ones there are remembered in `recent`. A page that delivers nothing commits
 * only to stop later reads re-scanning many handled rows (RECENT_PRUNE_THRESHOLD settled deliveries, or
 * SKIP_COMMIT_THRESHOLD skipped rows).
 */
export function decidePage(cursor: Cursor, rows: PendingRow[], settled: number, pageNow: number,
  skippedBefore: number): PageDecision {
  const due = rows.filter((r) => !cursor.recent.has(r.id)
    && r.expiresAt.getTime() > Math.max(pageNow, idTime(r.id)));
  const skipped = skippedBefore + rows.length - due.length;
  const last = rows.at(-1);
  if (!last) return { due, next: null, skipped };
  const watermark = Math.max(cursor.watermark, Math.min(last.id, settled));
  const recent = new Set([...cursor.recent, ...due.map((r) => r.id)].filter((id) => id > watermark));
  const worthCommitting = due.length > 0 || (watermark !== cursor.watermark
    && (cursor.recent.size - recent.size >= RECENT_PRUNE_THRESHOLD || skipped >= SKIP_COMMIT_THRESHOLD));
  return { due, next: worthCommitting ? { watermark, recent } : null, skipped };
}
