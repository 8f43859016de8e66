import { numberBucket } from './numbered.js';
import type { ListPage } from './types.js';

/** One stored row as a list walks it: deleted rows are scanned (their numbers are not holes) but not listed. */
export interface Scanned<T> { number: number; createdAt: Date; item: T | null; bytes: number }

/** What one client page may cost and when a hole counts as settled. */
export interface PageBounds {
  /** Rows listed at most (the client's `limit`). */
  limit: number;
  /** Epoch ms: a hole followed by a row created before this is settled (its row will never land). */
  settledBefore: number;
  /** Rows (live or deleted) read at most per request: a mostly-deleted range costs bounded work. */
  maxScanned: number;
  /** Bytes of listed rows after which the page ends (the page still has at least one row). */
  maxBytes: number;
  /** The largest a row can be: one read asks for at most (bytes left / this) rows. */
  maxRowBytes: number;
}

/**
 * Rows one request reads at most: two full number ranges. Deleted rows cost a few cells each (their body is
 * emptied), so 2,000 is a few milliseconds of reading whatever the chat holds.
 */
export const MAX_SCANNED_ROWS = 2_000;

/**
 * Bytes of bodies one page carries at most: 4 MiB is 64 bodies of the largest size (64 KiB), against 500 × 64 KiB
 * = 32 MiB (64 MiB as JavaScript strings) per request before. Small bodies (~200 B) still fill a 500-row page.
 */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

/**
 * A page for a client walking `?after=` or Link rel=next: rows above `after` in number order, which must never
 * skip a row that lands late. Numbers are claimed before rows are written (a batch's rows land concurrently, a
 * stalled create lands up to about 2 × REQUEST_TIMEOUT_MS after its claim), so a page ends before a hole (a
 * missing number) that is still young: a hole counts as young while the row after it was created less than
 * `settledBefore` ago; the page then has no rel=next, like the list's end, and the rows above the hole come with
 * the next poll from the same `after`. Older holes are passed (that number never lands: a keyed re-drive
 * past the window fences it). The page also ends, with rel=next at the last number scanned, after `maxScanned`
 * rows or `maxBytes` of listed rows, so a chat of deleted rows or of 64 KiB bodies costs bounded work and memory.
 */
export async function clientPage<T>(after: number, lastNumber: number, bounds: PageBounds,
  scan: (bucket: number, after: number, count: number) => Promise<Scanned<T>[]>): Promise<ListPage<T>> {
  const items: T[] = [];
  let cursor = after;
  let scanned = 0;
  let bytes = 0;
  for (let bucket = numberBucket(after + 1); bucket <= numberBucket(lastNumber);) {
    // Bounds apply once the cursor moved (scanned > 0): every request makes progress, even over empty ranges.
    if (items.length >= bounds.limit || (scanned > 0 && (scanned >= bounds.maxScanned || bytes >= bounds.maxBytes))) {
      return { items, next: cursor < lastNumber ? cursor : null };
    }
    const count = Math.max(1, Math.min(bounds.limit - items.length, bounds.maxScanned - scanned,
      Math.floor((bounds.maxBytes - bytes) / bounds.maxRowBytes)));
    const rows = await scan(bucket, cursor, count);
    for (const row of rows) {
      // A read sized by maxRowBytes may still hold larger rows (object-store bodies up to CHAT_MAX_BODY_BYTES).
      if (scanned > 0 && bytes >= bounds.maxBytes) return { items, next: cursor < lastNumber ? cursor : null };
      if (row.number > cursor + 1 && row.createdAt.getTime() > bounds.settledBefore) return { items, next: null };
      cursor = row.number;
      scanned += 1;
      if (row.item !== null) {
        items.push(row.item);
        bytes += row.bytes;
      }
    }
    if (rows.length < count) bucket += 1;
  }
  return { items, next: null };
}
