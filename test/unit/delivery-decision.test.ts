import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decidePage, RECENT_PRUNE_THRESHOLD, SKIP_COMMIT_THRESHOLD, type Cursor, type PendingRow } from '../../src/inbox/delivery-decision.js';
import { firstIdAt } from '../../src/ids/id-layout.js';

/** Ids issued at given milliseconds (first id of that millisecond), rows expiring at `expiresAt`. */
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);
const idAt = (ms: number) => firstIdAt(T0 + ms);
const row = (ms: number, expiresInMs = 60_000): PendingRow =>
  ({ id: idAt(ms), text: `at ${ms}`, expiresAt: new Date(T0 + ms + expiresInMs) });
const cursor = (watermark = 0, recent: number[] = []): Cursor =>
  ({ version: 3, watermark, recent: new Set(recent), claim: 'c', claims: ['c'] });

describe('the cursor rule of one page', () => {
  it('when rows are new, then all are due and the watermark stops at the settled bound', () => {
    const rows = [row(0), row(1_000), row(20_000)];
    const settled = idAt(10_000) - 1;
    const d = decidePage(cursor(), rows, settled, T0 + 20_001, 0);
    assert.deepEqual(d.due.map((r) => r.id), rows.map((r) => r.id));
    assert.equal(d.next!.watermark, settled, 'never past the settled bound');
    assert.deepEqual([...d.next!.recent], [rows[2]!.id], 'delivered ids above the watermark are remembered');
  });

  it('when a row is in recent, then it is not due again', () => {
    const rows = [row(15_000), row(16_000)];
    const d = decidePage(cursor(0, [rows[0]!.id]), rows, idAt(5_000), T0 + 17_000, 0);
    assert.deepEqual(d.due.map((r) => r.id), [rows[1]!.id]);
    assert.deepEqual([...d.next!.recent].sort(), rows.map((r) => r.id).sort());
  });

  it('when a row expired before the page time, then it is skipped', () => {
    const rows = [row(0, 500), row(100)];
    const d = decidePage(cursor(), rows, idAt(0), T0 + 1_000, 0);
    assert.deepEqual(d.due.map((r) => r.id), [rows[1]!.id]);
    assert.equal(d.skipped, 1);
  });

  it('when a row expires at its own creation (timeout 0), then it is never due, even read before it was made', () => {
    const zero = row(5_000, 0);
    const d = decidePage(cursor(), [zero], idAt(0), T0 + 1_000, 0);
    assert.equal(d.due.length, 0);
  });

  it('when nothing is due and the watermark cannot move, then no write is needed', () => {
    const rows = [row(30_000, 10)];
    const d = decidePage(cursor(idAt(0)), rows, idAt(0), T0 + 40_000, 0);
    assert.equal(d.due.length, 0);
    assert.equal(d.next, null);
  });

  it('when nothing is due and only a few settled deliveries could leave recent, then no write (no Paxos round)', () => {
    const delivered = row(1_000);
    const d = decidePage(cursor(0, [delivered.id]), [delivered], idAt(5_000), T0 + 20_000, 0);
    assert.equal(d.due.length, 0);
    assert.equal(d.skipped, 1);
    assert.equal(d.next, null, 'the row is re-read and skipped by later reads until a delivering page drops it');
  });

  it('when nothing is due but many settled deliveries can leave recent, then the page commits to shrink it', () => {
    const delivered = Array.from({ length: RECENT_PRUNE_THRESHOLD }, (_, i) => row(1_000 + i));
    const d = decidePage(cursor(0, delivered.map((r) => r.id)), delivered, idAt(5_000), T0 + 20_000, 0);
    assert.equal(d.due.length, 0);
    assert.equal(d.next!.recent.size, 0);
    assert.equal(d.next!.watermark, delivered.at(-1)!.id);
  });

  it('when a page delivers, then settled deliveries leave recent with it', () => {
    const old = row(1_000);
    const fresh = row(19_000);
    const d = decidePage(cursor(0, [old.id]), [old, fresh], idAt(5_000), T0 + 20_000, 0);
    assert.deepEqual(d.due.map((r) => r.id), [fresh.id]);
    assert.deepEqual([...d.next!.recent], [fresh.id], 'the settled one is below the new watermark and dropped');
  });

  it('when only a few expired rows were skipped, then no write; past the threshold the watermark moves', () => {
    const rows = Array.from({ length: 10 }, (_, i) => row(i, 1));
    assert.equal(decidePage(cursor(), rows, idAt(100), T0 + 1_000, 0).next, null);
    const many = decidePage(cursor(), rows, idAt(100), T0 + 1_000, SKIP_COMMIT_THRESHOLD);
    assert.equal(many.next!.watermark, rows.at(-1)!.id);
  });

  it('when the page is empty, then nothing is due and nothing is written', () => {
    assert.deepEqual(decidePage(cursor(5), [], idAt(0), T0, 0), { due: [], next: null, skipped: 0 });
  });

  it('when the watermark is already ahead of the settled bound, then it never goes back', () => {
    const rows = [row(1_000)];
    const d = decidePage(cursor(idAt(50_000)), rows, idAt(0), T0 + 2_000, 0);
    assert.equal(d.next!.watermark, idAt(50_000));
  });
});
