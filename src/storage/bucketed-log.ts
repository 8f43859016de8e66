import cassandra from 'cassandra-driver';
import { num, type Db } from './cassandra.js';
import { LwtLock } from './lwt-lock.js';
import { unavailable } from '../errors.js';

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
}

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

export class LogLockLost extends Error {
  constructor(name: string) { super(`lock of ${name} lost; stopping before the next checkpoint`); }
}

const PAGE_SIZE = 1000;
/**
 * An append acknowledged closer than this to its bucket's walk is written again into the current bucket (1 s,
 * or half the settle time of a log that settles faster): the budget for clock skew between appender and consumer.
 */
const lateMarginMs = (settleMs: number) => Math.min(1_000, settleMs / 2);

/**
 * A durable, time-bucketed log of JSON entries: `append` writes one row into (bucket of now, random shard);
 * `consume` walks settled buckets from a per-consumer checkpoint, under a per-consumer LWT lock, and moves the
 * checkpoint only after the handler finished a whole bucket. A crash at any point makes the next run repeat at
 * most one bucket, so handlers must be idempotent. Consumers are independent: each has its own checkpoint.
 */
export class BucketedLog<T> {
  constructor(private readonly db: Db, readonly opts: BucketedLogOptions) {}

  bucketOf(ms: number): number { return Math.floor(ms / this.opts.bucketMs); }

  /** The newest bucket a consumer may walk at `now`. */
  lastSettledBucket(now: number): number { return this.bucketOf(now - this.opts.settleMs) - 1; }

  lagSeconds(doneUntil: number, now: number): number {
    return Math.max(0, (now - this.opts.settleMs - (doneUntil + 1) * this.opts.bucketMs) / 1000);
  }

  /**
   * Appends one entry. An append that was acknowledged so late that a consumer may already have walked its
   * bucket is appended again into the current bucket: consumers are idempotent, so a duplicate costs nothing,
   * while a missed entry would wait for a reconciliation.
   */
  async append(body: T): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const bucket = this.bucketOf(Date.now());
      await this.db.execute('log_append',
        `INSERT INTO ${this.db.hot}.bucketed_log (log, bucket, shard, entry, body) VALUES (?, ?, ?, ?, ?) USING TTL ?`,
        [this.opts.name, bucket, Math.floor(Math.random() * this.opts.shards), cassandra.types.TimeUuid.now(),
          JSON.stringify(body), this.opts.ttlSeconds]);
      if (Date.now() < (bucket + 1) * this.opts.bucketMs + this.opts.settleMs - lateMarginMs(this.opts.settleMs)) return;
    }
    throw unavailable('change log writes are too slow; retry');
  }

  async checkpoint(consumer: string): Promise<number | null> {
    const row = (await this.db.execute('log_checkpoint_read',
      `SELECT done_until FROM ${this.db.hot}.bucketed_log_checkpoints WHERE log = ? AND consumer = ?`,
      [this.opts.name, consumer])).first();
    return row ? num(row.get('done_until')) : null;
  }

  /** Every entry of one bucket (all shards), in no particular order. */
  async read(bucket: number): Promise<T[]> {
    const pages = await Promise.all(Array.from({ length: this.opts.shards }, async (_, shard) => {
      const out: T[] = [];
      let pageState: string | undefined;
      do {
        const rs = await this.db.execute('log_scan',
          `SELECT body FROM ${this.db.hot}.bucketed_log WHERE log = ? AND bucket = ? AND shard = ?`,
          [this.opts.name, bucket, shard], { fetchSize: PAGE_SIZE, pageState });
        pageState = rs.pageState ?? undefined;
        for (const r of rs.rows) out.push(JSON.parse(r.get('body') as string) as T);
      } while (pageState);
      return out;
    }));
    return pages.flat();
  }

  /**
   * Walks the settled buckets after `consumer`'s checkpoint. Returns null when another process holds the
   * consumer's lock. The lock is renewed before every checkpoint move, so a run that lost it stops there.
   */
  async consume(consumer: string, handler: (entries: T[], bucket: number) => Promise<void>,
    opts: ConsumeOptions): Promise<ConsumeResult | null> {
    const now = opts.now ?? Date.now();
    const lock = new LwtLock(this.db, `log:${this.opts.name}:${consumer}`, opts.holder, opts.lockTtlSeconds);
    if (!(await lock.tryAcquire())) return null;
    try {
      const last = this.lastSettledBucket(now);
      let doneUntil = (await this.checkpoint(consumer)) ?? last - (opts.backlogBuckets ?? 0);
      if (opts.maxBehindBuckets !== undefined) doneUntil = Math.max(doneUntil, last - opts.maxBehindBuckets);
      let buckets = 0;
      let entries = 0;
      for (let bucket = doneUntil + 1; bucket <= last; bucket++) {
        const batch = await this.read(bucket);
        await handler(batch, bucket);
        if (!(await lock.renew())) throw new LogLockLost(lock.name);
        await this.db.execute('log_checkpoint_write',
          `UPDATE ${this.db.hot}.bucketed_log_checkpoints SET done_until = ?, updated_at = ? WHERE log = ? AND consumer = ?`,
          [bucket, new Date(), this.opts.name, consumer]);
        doneUntil = bucket;
        buckets += 1;
        entries += batch.length;
      }
      return { buckets, entries, doneUntil, lagSeconds: this.lagSeconds(doneUntil, now) };
    } finally {
      await lock.release().catch(() => { /* it expires by its TTL */ });
    }
  }
}
