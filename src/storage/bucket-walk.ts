import {
  FIRST_SLICE_ROWS, lastSettledBucket, nextSliceRows, startAfter, type WalkGeometry,
} from './walk-arithmetic.js';

export { lagSeconds, lastSettledBucket, type WalkGeometry } from './walk-arithmetic.js';

/** One slice of one (bucket, shard): the entries after the position asked for, in the shard's order. */
export interface WalkSlice<E, P> {
  entries: E[];
  /** What the entries hold in memory: the slice budget bounds this, not the row count. */
  bytes: number;
  /** The shard goes on after this slice. */
  more: boolean;
  /** The position of the last entry; null when the slice is empty. */
  last: P | null;
}

/** Where a walk reads: the first `limit` entries of (bucket, shard) after `after` (exclusive; null = from the start). */
export interface WalkSource<E, P> {
  scan(bucket: number, shard: number, after: P | null, limit: number): Promise<WalkSlice<E, P>>;
}

/** One consumer's place in the walk: the last bucket done, and how far each shard got inside the next one. */
export interface WalkState<P> {
  checkpoint(): Promise<number | null>;
  setCheckpoint(bucket: number): Promise<void>;
  /** The position of each shard inside `bucket`; shards with none (or with one for another bucket) are absent. */
  progress(bucket: number): Promise<Map<number, P>>;
  setProgress(bucket: number, shard: number, position: P): Promise<void>;
}

export interface WalkSettings extends WalkGeometry {
  /** Bytes of entries one shard holds at once: memory is bounded by shards × sliceBytes, whatever the rows weigh. */
  sliceBytes: number;
}

export interface SliceContext {
  bucket: number;
  shard: number;
  /** Throws when the walk must stop (lock lost, another shard failed): call it before each of the handler's writes. */
  assertHeld: () => Promise<void>;
}

/** Handles one slice; must be idempotent, since a crash repeats the slices after the recorded progress. */
export type SliceHandler<E> = (entries: E[], ctx: SliceContext) => Promise<void>;

export interface WalkRun {
  /** Throws when the run no longer holds its lock. Called before every write: the handler's, progress, checkpoint. */
  assertHeld: () => void | Promise<void>;
  now: number;
  /** The checkpoint of a consumer that has none yet; a function is asked only then (it may read the database). */
  initial: number | (() => Promise<number>);
  /** A consumer further behind than this skips ahead to it. Default: never skip. */
  maxBehindBuckets?: number;
  /** Told after each bucket's checkpoint was written. */
  onBucket?: (bucket: number, entries: number) => void;
}

export interface WalkResult { buckets: number; entries: number; doneUntil: number }

/** Another shard of the same bucket failed: this one stopped too (the other shard's error is the one reported). */
export class WalkAborted extends Error {
  constructor() { super('walk aborted: another shard failed'); }
}

/**
 * The one walk over a time-bucketed, sharded source, shared by every consumer of derived work (the archiver over
 * the expiry index, counts and the search indexer over the change log). It walks the settled buckets after the
 * consumer's checkpoint, one bucket at a time, the shards of a bucket in parallel. A shard is read in slices of
 * about `sliceBytes` and each slice goes to the handler; the shard's position is recorded after every slice and the
 * checkpoint moves once the whole bucket is done. A run killed at any point therefore repeats at most one slice per
 * shard, and handlers are idempotent. Sources are never deleted from (TTL only), so a walk reads no tombstones.
 */
export class BucketWalk<E, P> {
  constructor(
    private readonly source: WalkSource<E, P>,
    private readonly state: WalkState<P>,
    private readonly settings: WalkSettings,
  ) {}

  async walk(handler: SliceHandler<E>, run: WalkRun): Promise<WalkResult> {
    const last = lastSettledBucket(run.now, this.settings);
    const checkpoint = await this.state.checkpoint();
    const initial = checkpoint !== null || typeof run.initial === 'number' ? run.initial as number : await run.initial();
    const start = startAfter(checkpoint, last, initial, run.maxBehindBuckets);
    let buckets = 0;
    let entries = 0;
    for (let bucket = start + 1; bucket <= last; bucket++) {
      // Only the first bucket can hold progress: each later one is started by this run, under its lock. (Progress
      // left for an older bucket, by a checkpoint moved back, is ignored: that bucket is walked whole.)
      const from = bucket === start + 1 ? await this.state.progress(bucket) : new Map<number, P>();
      const n = await this.walkBucket(bucket, from, handler, run.assertHeld);
      await run.assertHeld();
      await this.state.setCheckpoint(bucket);
      buckets += 1;
      entries += n;
      run.onBucket?.(bucket, n);
    }
    return { buckets, entries, doneUntil: Math.max(start, last) };
  }

  /**
   * The shards of one bucket in parallel. When one shard fails the others stop before their next write, and the
   * bucket returns only once none of them is still running: a failed run never leaves writes behind it.
   */
  private async walkBucket(bucket: number, from: Map<number, P>, handler: SliceHandler<E>,
    assertHeld: WalkRun['assertHeld']): Promise<number> {
    let failed = false;
    const guard = async () => {
      if (failed) throw new WalkAborted();
      await assertHeld();
      if (failed) throw new WalkAborted();
    };
    const results = await Promise.allSettled(Array.from({ length: this.settings.shards }, (_, shard) =>
      this.walkShard(bucket, shard, from.get(shard) ?? null, handler, guard)
        .catch((err: unknown) => { failed = true; throw err; })));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) throw errors.find((e) => !(e instanceof WalkAborted)) ?? errors[0];
    return results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0);
  }

  private async walkShard(bucket: number, shard: number, from: P | null, handler: SliceHandler<E>,
    guard: () => Promise<void>): Promise<number> {
    let rows = FIRST_SLICE_ROWS;
    let after = from;
    let n = 0;
    for (let more = true; more;) {
      await guard();
      const slice = await this.source.scan(bucket, shard, after, rows);
      more = slice.more;
      if (slice.entries.length === 0 || slice.last === null) break;
      await guard();
      await handler(slice.entries, { bucket, shard, assertHeld: guard });
      n += slice.entries.length;
      after = slice.last;
      await guard();
      await this.state.setProgress(bucket, shard, after);
      rows = nextSliceRows(slice.bytes, slice.entries.length, this.settings.sliceBytes);
    }
    return n;
  }
}
