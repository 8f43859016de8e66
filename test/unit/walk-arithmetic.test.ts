import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  FIRST_SLICE_ROWS, MAX_SLICE_ROWS, SLICE_GROWTH, lagSeconds, lastSettledBucket, nextSliceRows, rowsForBudget,
  startAfter,
} from '../../src/storage/walk-arithmetic.js';

/** Minute buckets settling 5 s after their end (the archiver's geometry with DELIVERY_SETTLE_MS = 5000). */
const minute = { bucketMs: 60_000, settleMs: 5_000 };
/** The change log's: 10 s buckets, 5 s settle. */
const tenSeconds = { bucketMs: 10_000, settleMs: 5_000 };
const T = 1_000 * 60_000; // the start of minute-bucket 1000

describe('which buckets a walk may enter', () => {
  it('when the settle time after a bucket\'s end has not passed, then that bucket is not walkable yet', () => {
    // Bucket 1000 ends at T + 60 s and settles at T + 65 s.
    assert.equal(lastSettledBucket(T + 64_999, minute), 999);
    assert.equal(lastSettledBucket(T + 65_000, minute), 1000);
    assert.equal(lastSettledBucket(T + 125_000, minute), 1001);
  });

  it('when buckets are 10 s wide, then one settles every 10 s, 5 s after its end', () => {
    const b = 100 * 10_000;
    assert.equal(lastSettledBucket(b + 14_999, tenSeconds), 99);
    assert.equal(lastSettledBucket(b + 15_000, tenSeconds), 100);
  });
});

describe('how far behind a consumer is', () => {
  it('when a consumer is caught up, then its lag is under one bucket width (the bucket still filling)', () => {
    for (const now of [T + 65_000, T + 95_000, T + 124_999]) {
      const lag = lagSeconds(lastSettledBucket(now, minute), now, minute);
      assert.ok(lag >= 0 && lag < 60, `lag ${lag} s at ${now - T} ms`);
    }
  });

  it('when buckets wait to be walked, then the lag is the age of the oldest entry not walked, less the settle time', () => {
    // Bucket 1000 starts at T: at T + 185 s its first entries are 185 s old, 180 s past the 5 s settle time.
    assert.equal(lagSeconds(999, T + 185_000, minute), 180);
    assert.equal(lagSeconds(1001, T + 185_000, minute), 60);
  });

  it('when the checkpoint is ahead of the clock, then the lag is 0, never negative', () => {
    assert.equal(lagSeconds(2000, T, minute), 0);
  });
});

describe('where a walk starts', () => {
  it('when the consumer has a checkpoint, then the walk continues after it', () => {
    assert.equal(startAfter(990, 1000, 995), 990);
  });

  it('when the consumer has no checkpoint, then the walk starts after the given initial bucket', () => {
    assert.equal(startAfter(null, 1000, 640), 640);
  });

  it('when the consumer is further behind than it may be, then it skips ahead to the limit', () => {
    assert.equal(startAfter(100, 1000, 0, 360), 640);
    assert.equal(startAfter(900, 1000, 0, 360), 900, 'closer than the limit: no skip');
    assert.equal(startAfter(null, 1000, 0, 360), 640, 'no checkpoint and an initial too far back: the limit');
  });
});

describe('how many rows the next slice asks for', () => {
  const MiB = 1024 * 1024;

  it('when rows weigh 64 KiB, then a 1 MiB slice holds 16 of them', () => {
    assert.equal(nextSliceRows(FIRST_SLICE_ROWS * 64 * 1024, FIRST_SLICE_ROWS, MiB), 16);
  });

  it('when rows are tiny, then a slice grows by at most SLICE_GROWTH times the rows just read', () => {
    // 100-byte rows would fit 10,485 in 1 MiB; after the first slice of 64 rows the next asks for 128.
    assert.equal(nextSliceRows(FIRST_SLICE_ROWS * 100, FIRST_SLICE_ROWS, MiB), SLICE_GROWTH * FIRST_SLICE_ROWS);
    assert.equal(SLICE_GROWTH, 2);
  });

  it('when tiny rows keep coming, then a slice reaches one page of rows and stays there', () => {
    let rows = FIRST_SLICE_ROWS;
    const asked: number[] = [];
    for (let i = 0; i < 6; i++) asked.push(rows = nextSliceRows(rows * 100, rows, MiB));
    assert.deepEqual(asked, [128, 256, 512, MAX_SLICE_ROWS, MAX_SLICE_ROWS, MAX_SLICE_ROWS]);
  });

  it('when 64 KiB rows follow a slice of tiny rows, then that slice carries at most 2 x its rows of them', () => {
    const next = nextSliceRows(FIRST_SLICE_ROWS * 100, FIRST_SLICE_ROWS, MiB);
    assert.ok(next * 64 * 1024 <= 8 * MiB, `${next} rows of 64 KiB`);
  });

  it('when one row alone is larger than the budget, then the next slice still asks for one row', () => {
    assert.equal(nextSliceRows(4 * MiB, 1, MiB), 1);
  });
});

describe('rows that fit a byte budget (the inbox page size)', () => {
  it('when a page of 100 rows held 50,000 bytes, then a 64 KiB budget fits 131 more, capped at the page size', () => {
    assert.equal(rowsForBudget(50_000, 100, 64 * 1024, 1_000), 131);
    assert.equal(rowsForBudget(50_000, 100, 64 * 1024, 100), 100);
  });

  it('when one row alone is larger than the budget, then the next read still asks for one row', () => {
    assert.equal(rowsForBudget(1_000_000, 1, 64 * 1024, 100), 1);
  });
});
