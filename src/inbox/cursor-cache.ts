import type { Cursor } from './delivery-decision.js';

/**
 * Users' delivery cursors as this process last read or wrote them, least recently used dropped first. A cached
 * cursor is always a state the row really had; the row only moves forward from it (version, watermark up; an id
 * leaves `recent` only once the watermark covers it), so a page read from a cached cursor that finds nothing due
 * proves nothing is due now, without reading the cursor. Anything it would claim is checked against a fresh read
 * first (MessageService.consume). 4,096 users × ~0.5-1.5 KB (16 claims, the recent ids) ≈ 2-6 MB at most.
 */
export class CursorCache {
  private readonly entries = new Map<string, Cursor>();

  constructor(private readonly capacity = 4096) {}

  get(username: string): Cursor | undefined {
    const c = this.entries.get(username);
    if (c) {
      // Map keeps insertion order: re-inserting marks the entry as most recently used.
      this.entries.delete(username);
      this.entries.set(username, c);
    }
    return c;
  }

  set(username: string, cursor: Cursor): void {
    this.entries.delete(username);
    this.entries.set(username, cursor);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(username: string): void {
    this.entries.delete(username);
  }

  get size(): number { return this.entries.size; }
}
