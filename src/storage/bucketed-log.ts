import cassandra from 'cassandra-driver';
import type { Db } from './cassandra.js';
import { LwtLock } from './lwt-lock.js';
import { underLease } from './lease-guard.js';
import { BucketWalk, lagSeconds, lastSettledBucket, type WalkSlice, type WalkSource } from './bucket-walk.js';
import { BucketedLogState } from './bucketed-log-state.js';
import { unavailable } from '../errors.js';
import type { Clock } from '../clock.js';

type TimeUuid = cassandra.types.TimeUuid;


export interface BucketedLogOptions {
  /** The log's name: its rows and its consumers' checkpoints are keyed by it. */
  name: string;
  /** Bucket width. Fixed for the life of a log: changing it would orphan rows already written. */
  bucketMs: number;
  /** Partitions per bucket, so one bucket's appends spread over several replica sets. */
  shards: number;
  /** A bucket is walked only once its end lies this far in the past (appends in flight have landed). */
  settleMs: number;
  /** Rows expire after this (TTL, no deletes, so no tombstones); a consumer further behind loses entries. */
  ttlSeconds: number;
  /**
   * An append acknowledged later than this before its bucket's walk is written again into the current bucket:
   * the budget for clock skew between appender and consumer plus the time a write takes to become visible. Must
   * stay below `settleMs`. Default: 1 s, or half the settle time of a log that settles faster.
   */
  lateMarginMs?: number;
}

/** What an append promises: its entry is walked after any write acknowledged while `covers()` holds. */
export interface Appended { covers(): boolean }

export interface ConsumeOptions {
  holder: string;
  lockTtlSeconds: number;
  /** Where a consumer without a checkpoint starts: this many settled buckets back. */
  backlogBuckets?: number;
  /**
   * A consumer further behind than this skips ahead to it (for consumers that reconcile from the source anyway,
   * so a worker that was down for days does not walk every empty bucket since). Default: never skip.
   */
  maxBehindBuckets?: number;
  /** Pretend the clock reads this (tests). */
  now?: number;
}

export interface ConsumeResult { buckets: number; entries: number; doneUntil: number; lagSeconds: number }

/** Entry bytes one shard of a consumer holds at once: 8 shards × 1 MiB, whatever the entries weigh. */
const SLICE_BYTES = 1024 * 1024;
const defaultLateMarginMs = (settleMs: number) => Math.min(1_000, settleMs / 2);

/**
 * A durable, time-bucketed log of JSON entries: `append` writes one row into (bucket of now, random shard);
 * `consume` walks settled buckets from a per-consumer checkpoint under a per-consumer LWT lock, with the shared
 * BucketWalk: the handler gets byte-bounded slices (shards in parallel), each shard's position is recorded after
 * every slice and the checkpoint moves after the whole bucket. A crash at any point makes the next run repeat at
 * most one slice per shard, so handlers must be idempotent. Consumers are independent: each has its own checkpoint.
 */
export class BucketedLog<T> implements WalkSource<T, TimeUuid> {
  private readonly lateMarginMs: number;

  /** `clock`: this appender's clock (tests set one that runs behind a consumer's). */
  constructor(private readonly db: Db, readonly opts: BucketedLogOptions, private readonly clock: Clock = Date.now) {
    this.lateMarginMs = opts.lateMarginMs ?? defaultLateMarginMs(opts.settleMs);
    if (this.lateMarginMs >= opts.settleMs) throw new Error(`log ${opts.name}: the late margin must be below the settle time`);
  }

  bucketOf(ms: number): number { return Math.floor(ms / this.opts.bucketMs); }

  /** The newest bucket a consumer may walk at `now`. */
  lastSettledBucket(now: number): number { return lastSettledBucket(now, this.opts); }

  lagSeconds(doneUntil: number, now: number): number { return lagSeconds(doneUntil, now, this.opts); }

  /**
   * Appends one entry. An append that was acknowledged so late that a consumer may already have walked its
   * bucket is appended again into the current bucket: consumers are idempotent, so a duplicate costs nothing,
   * while a missed entry would wait for a reconciliation. The answer says until when the entry still covers a
   * write made after it (an intent entry written before the write it announces).
   */
  async append(body: T): Promise<Appended> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const bucket = this.bucketOf(this.clock());
      await this.db.execute('log_append',
        `INSERT INTO ${this.db.hot}.bucketed_log (log, bucket, shard, entry, body) VALUES (?, ?, ?, ?, ?) USING TTL ?`,
        [this.opts.name, bucket, Math.floor(Math.random() * this.opts.shards), cassandra.types.TimeUuid.now(),
          JSON.stringify(body), this.opts.ttlSeconds]);
      // A consumer whose clock runs up to the margin ahead of ours walks the bucket at `deadline` by our clock.
      const deadline = (bucket + 1) * this.opts.bucketMs + this.opts.settleMs - this.lateMarginMs;
      if (this.clock() < deadline) return { covers: () => this.clock() < deadline };
    }
    throw unavailable('change log writes are too slow; retry');
  }

  checkpoint(consumer: string): Promise<number | null> {
    return new BucketedLogState(this.db, this.opts.name, consumer).checkpoint();
  }

  /** The first `limit` entries of one (bucket, shard) after `after`, in append order. */
  async scan(bucket: number, shard: number, after: TimeUuid | null, limit: number): Promise<WalkSlice<T, TimeUuid>> {
    const rs = after
      ? await this.db.execute('log_scan_from',
        `SELECT entry, body FROM ${this.db.hot}.bucketed_log WHERE log = ? AND bucket = ? AND shard = ? AND entry > ?`,
        [this.opts.name, bucket, shard, after], { fetchSize: limit })
      : await this.db.execute('log_scan',
        `SELECT entry, body FROM ${this.db.hot}.bucketed_log WHERE log = ? AND bucket = ? AND shard = ?`,
        [this.opts.name, bucket, shard], { fetchSize: limit });
    let bytes = 0;
    const entries = rs.rows.map((r) => {
      const body = r.get('body') as string;
      bytes += body.length * 2;
      return JSON.parse(body) as T;
    });
    return { entries, bytes, more: rs.pageState != null, last: (rs.rows.at(-1)?.get('entry') as TimeUuid | undefined) ?? null };
  }

  /** Every entry of one bucket (all shards), in no particular order: for inspection; consumers walk slices. */
  async read(bucket: number): Promise<T[]> {
    const shards = await Promise.all(Array.from({ length: this.opts.shards }, async (_, shard) => {
      const out: T[] = [];
      for (let after: TimeUuid | null = null, more = true; more;) {
        const slice = await this.scan(bucket, shard, after, 1000);
        out.push(...slice.entries);
        after = slice.last;
        more = slice.more && after !== null;
      }
      return out;
    }));
    return shards.flat();
  }

  /**
   * Walks the settled buckets after `consumer`'s checkpoint, handing each slice to `handler` (shards of a bucket
   * concurrently). Returns null when another process holds the consumer's lock. The lock is kept by the one lease
   * guard (storage/lease-guard.ts: renewed as the walk goes, once a third of its TTL has passed since the last
   * renewal was sent), so a run that lost it, or could have, stops before its next write.
   */
  async consume(consumer: string, handler: (entries: T[], bucket: number) => Promise<void>,
    opts: ConsumeOptions): Promise<ConsumeResult | null> {
    const now = opts.now ?? Date.now();
    const lock = new LwtLock(this.db, `log:${this.opts.name}:${consumer}`, opts.holder, opts.lockTtlSeconds);
    return underLease(lock, { name: lock.name, ttlSeconds: opts.lockTtlSeconds }, async (assertHeld) => {
      const walk = new BucketWalk<T, TimeUuid>(this, new BucketedLogState(this.db, this.opts.name, consumer),
        { ...this.opts, sliceBytes: SLICE_BYTES });
      const result = await walk.walk((entries, ctx) => handler(entries, ctx.bucket), {
        assertHeld, now,
        initial: this.lastSettledBucket(now) - (opts.backlogBuckets ?? 0), maxBehindBuckets: opts.maxBehindBuckets,
      });
      return { ...result, lagSeconds: this.lagSeconds(result.doneUntil, now) };
    });
  }
}
