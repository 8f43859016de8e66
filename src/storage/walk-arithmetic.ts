/** The shape of a time-bucketed source: fixed for its life (changing either would orphan rows already written). */
export interface WalkGeometry {
  bucketMs: number;
  /** A bucket is walked only once its end lies this far in the past: writes in flight into it have landed. */
  settleMs: number;
  /** Partitions per bucket, walked in parallel. */
  shards: number;
}

/** Rows asked for in a shard's first slice; later slices are sized from the bytes per row seen. */
export const FIRST_SLICE_ROWS = 64;
/** At most this many rows per slice, however small they are (one driver page). */
export const MAX_SLICE_ROWS = 1000;

/** The newest bucket a walk may enter at `now`: it ended, and settled, before `now`. */
export function lastSettledBucket(now: number, g: Pick<WalkGeometry, 'bucketMs' | 'settleMs'>): number {
  return Math.floor((now - g.settleMs) / g.bucketMs) - 1;
}

/** How long the oldest bucket not yet walked has been walkable: 0 for a consumer that is caught up. */
export function lagSeconds(doneUntil: number, now: number, g: Pick<WalkGeometry, 'bucketMs' | 'settleMs'>): number {
  return Math.max(0, (now - g.settleMs - (doneUntil + 1) * g.bucketMs) / 1000);
}

/**
 * The bucket a walk continues after: the checkpoint, or `initial` for a consumer without one; and never further
 * back than `maxBehind` buckets before `last` when the consumer skips what it reconciles otherwise.
 */
export function startAfter(checkpoint: number | null, last: number, initial: number, maxBehind?: number): number {
  const from = checkpoint ?? initial;
  return maxBehind === undefined ? from : Math.max(from, last - maxBehind);
}

/** A slice asks for at most this many times the rows of the slice just read. */
export const SLICE_GROWTH = 2;

/**
 * Rows for the next slice: as many as fit in `sliceBytes` at the bytes per row of the slice just read, and at most
 * SLICE_GROWTH times its rows. The size is a guess from rows already read, so a slice of large rows after small
 * ones overshoots the budget; the growth cap bounds that overshoot to 2 × the previous rows × the largest row
 * (a shard's second slice: 128 × 64 KiB = 8 MiB, instead of 1,000 × 64 KiB = 64 MiB after one slice of tiny rows).
 */
export function nextSliceRows(bytes: number, rows: number, sliceBytes: number): number {
  return rowsForBudget(bytes, rows, sliceBytes, Math.min(MAX_SLICE_ROWS, SLICE_GROWTH * Math.max(1, rows)));
}

/**
 * Rows for the next read of a source whose row sizes vary: as many as fit in `budgetBytes` at the bytes per row of
 * the `rows` rows just read (`bytes` in all), at least 1 (a row larger than the budget is still read, alone) and
 * at most `maxRows`. The log walks (nextSliceRows) and the inbox's pages (inbox/message-service.ts) size by it.
 */
export function rowsForBudget(bytes: number, rows: number, budgetBytes: number, maxRows: number): number {
  const perRow = Math.max(1, bytes / Math.max(1, rows));
  return Math.max(1, Math.min(maxRows, Math.floor(budgetBytes / perRow)));
}
