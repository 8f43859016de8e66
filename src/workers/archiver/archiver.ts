import type { Logger } from '../../logger.js';
import type { ColdStore } from '../../inbox/cold-store.js';
import type { StoredMessage } from '../../inbox/message.js';
import { EXPIRY_SHARDS } from '../../inbox/expiry-index.js';
import { BUCKET_MS, bucketOf } from '../../storage/time-buckets.js';
import { BucketWalk, lagSeconds, lastSettledBucket, type SliceContext, type WalkGeometry } from '../../storage/bucket-walk.js';
import { archiverSwept, messagesArchived } from '../../observability/metrics.js';
import type { ArchiverStore, IndexPosition } from './archiver-store.js';

export interface SweepResult { buckets: number; swept: number; lagSeconds: number; sweptUntil: number }
export interface ArchiverSettings {
  /** DELIVERY_SETTLE_MS: a bucket is settled once writes into it have landed. */
  settleMs: number;
  /** ARCHIVE_BATCH_CONCURRENCY: cold writes in flight at once. */
  batchConcurrency: number;
  /** ARCHIVE_SLICE_BYTES: text held per shard while a slice is moved. */
  sliceBytes: number;
}

/**
 * Moves timed-out messages to cold storage: a consumer of the bucket walk over the expiry index (minute buckets
 * keyed by expiry time, 16 shards, rows carrying the message), so the cost follows the number of expired messages,
 * never the size of hot storage. Cold writes are idempotent; the walk records each shard's progress after every
 * slice and moves the checkpoint once the whole bucket is in cold, so a run killed at any point (even by the OOM
 * killer) resumes where it was. Memory is bounded by bytes: 16 shards × ARCHIVE_SLICE_BYTES (1 MiB) of text at
 * most, where 16 pages of 1000 rows of up to 64 KiB each could reach 1 GiB. Hot rows are never deleted: their TTL
 * (timeout + grace) removes them without tombstones.
 */
export class Archiver {
  private readonly geometry: WalkGeometry;
  private readonly walk: BucketWalk<StoredMessage, IndexPosition>;

  constructor(
    private readonly store: ArchiverStore,
    private readonly cold: ColdStore,
    private readonly settings: ArchiverSettings,
    private readonly log: Logger,
  ) {
    // A bucket is complete once every message in it has timed out, and settled once writes into it have landed.
    this.geometry = { bucketMs: BUCKET_MS, settleMs: settings.settleMs, shards: EXPIRY_SHARDS };
    this.walk = new BucketWalk(store, store, { ...this.geometry, sliceBytes: settings.sliceBytes });
  }

  /** Buckets whose every message has timed out and whose writes have settled. */
  lastCompleteBucket(now: number): number {
    return lastSettledBucket(now, this.geometry);
  }

  lagSeconds(sweptUntil: number, now: number): number {
    return lagSeconds(sweptUntil, now, this.geometry);
  }

  checkpoint(): Promise<number | null> {
    return this.store.checkpoint();
  }

  /**
   * `assertHeld` throws when the run lost its lock; it is called before every write that matters (each group of
   * cold writes, each progress record and each checkpoint move), so a run that lost its lock issues no further
   * write. A database without a checkpoint starts at the schema's birth: nothing can have expired before it (a
   * start at `now` would skip every message that expired between the migration and the archiver's first run).
   */
  async sweep(assertHeld: () => Promise<void>, now = Date.now()): Promise<SweepResult> {
    const started = Date.now();
    const result = await this.walk.walk((messages, ctx) => this.archive(messages, ctx), {
      assertHeld, now, initial: async () => bucketOf((await this.store.schemaBirth()) ?? now) - 1,
      onBucket: (bucket, swept) => { if (swept > 0) this.log.debug({ bucket, swept }, 'bucket archived'); },
    });
    // The lag is measured on the run's own clock (which tests may move), advanced by the time the run took.
    return { buckets: result.buckets, swept: result.entries, sweptUntil: result.doneUntil,
      lagSeconds: this.lagSeconds(result.doneUntil, now + (Date.now() - started)) };
  }

  /** One slice into cold: one group of ARCHIVE_BATCH_CONCURRENCY writes at a time, the lock checked before each. */
  private async archive(messages: StoredMessage[], ctx: SliceContext): Promise<void> {
    const width = this.settings.batchConcurrency;
    for (let i = 0; i < messages.length; i += width) {
      await ctx.assertHeld();
      const group = messages.slice(i, i + width);
      await this.cold.writeCold(group, 'timeout', width);
      archiverSwept.inc(group.length);
      messagesArchived.inc(group.length);
    }
  }
}
