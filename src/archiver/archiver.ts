import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { num, type Db } from '../storage/cassandra.js';
import { BUCKET_MS, EXPIRY_SHARDS, bucketOf, type MessageStore } from '../messages/message-store.js';
import { archiverSwept, messagesArchived } from '../observability/metrics.js';

const STATE_KEY = 'archiver';
const PAGE_SIZE = 1000;

/** Another shard of the same bucket failed: this one stopped too (the other shard's error is reported). */
class SweepAborted extends Error {
  constructor() { super('sweep aborted: another shard failed'); }
}

export interface SweepResult { buckets: number; swept: number; lagSeconds: number; sweptUntil: number }

/**
 * Moves timed-out messages to cold storage by walking the expiry index one minute-bucket at a time from a
 * checkpoint: the cost follows the number of expired messages, never the size of hot storage. Cold writes are
 * idempotent and the checkpoint moves only after a whole bucket is in cold, so a crash at any point is repaired
 * by the next run. Hot rows are not deleted: their TTL (timeout + grace) removes them without tombstones.
 */
export class Archiver {
  constructor(
    private readonly db: Db,
    private readonly store: MessageStore,
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  /** Buckets whose every message has timed out and whose writes have settled. */
  lastCompleteBucket(now: number): number {
    return bucketOf(now - this.config.DELIVERY_SETTLE_MS) - 1;
  }

  lagSeconds(sweptUntil: number, now: number): number {
    const oldestUnsweptEnd = (sweptUntil + 1) * BUCKET_MS;
    return Math.max(0, (now - this.config.DELIVERY_SETTLE_MS - oldestUnsweptEnd) / 1000);
  }

  async checkpoint(): Promise<number | null> {
    const rs = await this.db.execute('archiver_state_read',
      `SELECT swept_until FROM ${this.db.hot}.archiver_state WHERE name = ?`, [STATE_KEY]);
    const row = rs.first();
    return row ? num(row.get('swept_until')) : null;
  }

  /** Starts the checkpoint at `now` on a new database: nothing can have expired before the schema existed. */
  async initCheckpoint(now = Date.now()): Promise<void> {
    await this.db.execute('archiver_state_init',
      `INSERT INTO ${this.db.hot}.archiver_state (name, swept_until, updated_at) VALUES (?, ?, ?) IF NOT EXISTS`,
      [STATE_KEY, bucketOf(now) - 1, new Date(now)]);
  }

  /**
   * `assertHeld` throws when the run lost its lock; it is called before every write that matters (each group of
   * cold writes and each checkpoint move), so a run that lost its lock issues no further write.
   */
  async sweep(assertHeld: () => void, now = Date.now()): Promise<SweepResult> {
    const started = Date.now();
    let next = ((await this.checkpoint()) ?? bucketOf(now) - 1) + 1;
    const last = this.lastCompleteBucket(now);
    let swept = 0;
    let buckets = 0;
    for (; next <= last; next++) {
      const n = await this.sweepBucket(next, assertHeld);
      assertHeld();
      await this.db.execute('archiver_state_write',
        `UPDATE ${this.db.hot}.archiver_state SET swept_until = ?, updated_at = ? WHERE name = ?`,
        [next, new Date(), STATE_KEY]);
      swept += n;
      buckets += 1;
      if (n > 0) this.log.debug({ bucket: next, swept: n }, 'bucket archived');
    }
    // The lag is measured on the run's own clock (which tests may move), advanced by the time the run took.
    return { buckets, swept, sweptUntil: next - 1, lagSeconds: this.lagSeconds(next - 1, now + (Date.now() - started)) };
  }

  /**
   * The 16 shards of one bucket in parallel. When one shard fails the others stop at their next write, and the
   * bucket returns only once none of them is still writing: a failed run never leaves writes running behind it.
   */
  private async sweepBucket(bucket: number, assertHeld: () => void): Promise<number> {
    let failed = false;
    const guard = () => {
      if (failed) throw new SweepAborted();
      assertHeld();
    };
    const results = await Promise.allSettled(Array.from({ length: EXPIRY_SHARDS }, (_, shard) =>
      this.sweepShard(bucket, shard, guard).catch((err: unknown) => { failed = true; throw err; })));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) throw errors.find((e) => !(e instanceof SweepAborted)) ?? errors[0];
    return results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0);
  }

  private async sweepShard(bucket: number, shard: number, assertHeld: () => void): Promise<number> {
    let pageState: string | undefined;
    let n = 0;
    do {
      assertHeld();
      const rs = await this.db.execute('expiry_index_scan',
        `SELECT expires_at, id, username, text FROM ${this.db.hot}.expiry_index WHERE bucket = ? AND shard = ?`,
        [bucket, shard], { fetchSize: PAGE_SIZE, pageState });
      pageState = rs.pageState ?? undefined;
      const messages = rs.rows.map((r) => ({
        id: num(r.get('id')), username: r.get('username') as string, text: r.get('text') as string,
        expiresAt: r.get('expires_at') as Date,
      }));
      // One group of ARCHIVE_BATCH_CONCURRENCY writes at a time, the lock checked before each group.
      const width = this.config.ARCHIVE_BATCH_CONCURRENCY;
      for (let i = 0; i < messages.length; i += width) {
        assertHeld();
        const group = messages.slice(i, i + width);
        await this.store.writeCold(group, 'timeout', width);
        n += group.length;
        archiverSwept.inc(group.length);
        messagesArchived.inc(group.length);
      }
    } while (pageState);
    return n;
  }
}
