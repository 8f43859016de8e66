import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { ColdStore } from '../../inbox/cold-store.js';
import { EXPIRY_SHARDS } from '../../inbox/expiry-index.js';
import { BUCKET_MS, bucketOf } from '../../storage/time-buckets.js';
import { archiverSwept, messagesArchived } from '../../observability/metrics.js';
import type { ArchiverStore, ShardProgress } from './archiver-store.js';

/** Rows asked for in a shard's first slice; later slices are sized from the bytes per row seen. */
const FIRST_SLICE_ROWS = 64;
const MAX_SLICE_ROWS = 1000;

/** Another shard of the same bucket failed: this one stopped too (the other shard's error is reported). */
class SweepAborted extends Error {
  constructor() { super('sweep aborted: another shard failed'); }
}

export interface SweepResult { buckets: number; swept: number; lagSeconds: number; sweptUntil: number }
export type ArchiverSettings = Pick<Config, 'DELIVERY_SETTLE_MS' | 'ARCHIVE_BATCH_CONCURRENCY' | 'ARCHIVE_SLICE_BYTES'>;

/**
 * Moves timed-out messages to cold storage by walking the expiry index one minute-bucket at a time from a
 * checkpoint: the cost follows the number of expired messages, never the size of hot storage. Cold writes are
 * idempotent; inside a bucket each shard records how far it got after every slice, and the checkpoint moves once
 * the whole bucket is in cold, so a run killed at any point (even by the OOM killer) resumes where it was.
 * Memory is bounded by bytes: 16 shards × ARCHIVE_SLICE_BYTES (1 MiB) of text at most, where 16 pages of 1000
 * rows of up to 64 KiB each could reach 1 GiB. Hot rows are never deleted:
 * their TTL (timeout + grace) removes them without tombstones.
 */
export class Archiver {
  constructor(
    private readonly state: ArchiverStore,
    private readonly cold: ColdStore,
    private readonly settings: ArchiverSettings,
    private readonly log: Logger,
  ) {}

  /** Buckets whose every message has timed out and whose writes have settled. */
  lastCompleteBucket(now: number): number {
    return bucketOf(now - this.settings.DELIVERY_SETTLE_MS) - 1;
  }

  lagSeconds(sweptUntil: number, now: number): number {
    const oldestUnsweptEnd = (sweptUntil + 1) * BUCKET_MS;
    return Math.max(0, (now - this.settings.DELIVERY_SETTLE_MS - oldestUnsweptEnd) / 1000);
  }

  checkpoint(): Promise<number | null> {
    return this.state.checkpoint();
  }

  /**
   * `assertHeld` throws when the run lost its lock; it is called before every write that matters (each group of
   * cold writes, each progress record and each checkpoint move), so a run that lost its lock issues no further
   * write. A new database (no checkpoint) starts at `now`: nothing can have expired before the schema existed.
   */
  async sweep(assertHeld: () => void, now = Date.now()): Promise<SweepResult> {
    const started = Date.now();
    let next = ((await this.state.checkpoint()) ?? bucketOf(now) - 1) + 1;
    const last = this.lastCompleteBucket(now);
    let swept = 0;
    let buckets = 0;
    for (; next <= last; next++) {
      const n = await this.sweepBucket(next, assertHeld);
      assertHeld();
      await this.state.setCheckpoint(next);
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
    const progress = await this.state.progress(bucket);
    const results = await Promise.allSettled(Array.from({ length: EXPIRY_SHARDS }, (_, shard) =>
      this.sweepShard(bucket, shard, progress.get(shard), guard).catch((err: unknown) => { failed = true; throw err; })));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) throw errors.find((e) => !(e instanceof SweepAborted)) ?? errors[0];
    return results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0);
  }

  private async sweepShard(bucket: number, shard: number, from: ShardProgress | undefined,
    assertHeld: () => void): Promise<number> {
    let rows = FIRST_SLICE_ROWS;
    let n = 0;
    for (let more = true; more;) {
      assertHeld();
      const slice = await this.state.scan(bucket, shard, from, rows);
      more = slice.more;
      // One group of ARCHIVE_BATCH_CONCURRENCY writes at a time, the lock checked before each group.
      const width = this.settings.ARCHIVE_BATCH_CONCURRENCY;
      for (let i = 0; i < slice.messages.length; i += width) {
        assertHeld();
        const group = slice.messages.slice(i, i + width);
        await this.cold.writeCold(group, 'timeout', width);
        n += group.length;
        archiverSwept.inc(group.length);
        messagesArchived.inc(group.length);
      }
      const lastRow = slice.messages.at(-1);
      if (!lastRow) break;
      from = { bucket, expiresAt: lastRow.expiresAt, id: lastRow.id };
      assertHeld();
      await this.state.setProgress(shard, from);
      const perRow = Math.max(1, slice.bytes / slice.messages.length);
      rows = Math.max(1, Math.min(MAX_SLICE_ROWS, Math.floor(this.settings.ARCHIVE_SLICE_BYTES / perRow)));
    }
    return n;
  }
}
