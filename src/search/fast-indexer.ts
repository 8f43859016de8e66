import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { fastIndexDelay, fastIndexEvents, fastIndexQueue } from '../observability/search-metrics.js';
import type { ChangeEvent } from './documents.js';
import type { MessageIndexer } from './message-indexer.js';

export interface FastIndexOptions {
  /** Changes waiting at most; beyond, new ones are shed (the change log delivers them). */
  maxQueue: number;
  /** How long the first change of a bulk waits for company. */
  lingerMs: number;
}

/**
 * Bulks in flight at once. A bulk of a few documents takes ~5-30 ms on the local node, so two carry 500
 * changes/s in bulks of ~5; while both are busy the queue gathers the next bulk.
 */
const CONCURRENCY = 2;
/**
 * Documents per bulk. Each bulk must fit the fast path's 2 s timeout on a busy node even when a backlog goes out
 * after an outage: with 500, a 15 s outage's 3,000 changes (200 writes/s, load average 31) took 27 s to drain.
 */
const MAX_BATCH = 100;
/**
 * After a failed bulk the fast path pauses 1 s, doubling to 5 s while OpenSearch keeps failing: one bulk attempt
 * per 5 s is nothing, and OpenSearch's return is noticed within 5 s (30 s let a 15 s outage's tail wait for the
 * change log: last change searchable 52 s after the return at 200 writes/s).
 */
const PAUSE_MIN_MS = 1_000;
const PAUSE_MAX_MS = 5_000;
/**
 * Body bytes the queue holds at most, whatever its length: 10,000 chat messages of ~200 bytes are 2 MB, while
 * 10,000 of the 64 KB allowed would be 640 MB.
 */
const MAX_QUEUE_BYTES = 32 * 1024 * 1024;

interface Queued { event: ChangeEvent; at: number; bytes: number }
type Shed = 'shed_full' | 'shed_closing';

/**
 * The fast path of search indexing (issue 29): the API process hands each message change, once Cassandra
 * acknowledged its row write, to this bounded queue, which sends it to OpenSearch in a `_bulk` within a few ms.
 * It is an accelerator only: the change log (src/workers/indexer.ts) still delivers every change 5-20 s later,
 * so whatever this path drops (queue full, OpenSearch down or slow, process killed) is indexed anyway. Both paths
 * write through MessageIndexer with external versions: whichever comes second is refused as stale, and an older
 * version never replaces a newer one or a tombstone.
 *
 * `offer` never waits and never throws: a write's latency does not depend on OpenSearch. A bulk that fails for
 * want of OpenSearch (down, slow past its timeout, shedding load, alias missing) goes back to the head of the
 * queue and the fast path pauses (1 s doubling to 5 s): an outage costs one bulk attempt per pause, changes keep
 * queueing meanwhile (bounded: SEARCH_FAST_INDEX_QUEUE changes, 32 MB of bodies; beyond, shed) and go out as soon
 * as OpenSearch answers again, instead of waiting 15-20 s for the change log.
 */
export class FastIndexer {
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private pausedUntil = 0;
  private pauseMs = 0;
  private closed = false;

  constructor(private readonly indexer: MessageIndexer, private readonly opts: FastIndexOptions,
    private readonly log: Logger) {}

  readonly offer = (event: ChangeEvent): void => {
    if (this.closed) return shed('shed_closing');
    const bytes = event.body?.length ?? 0;
    if (this.queue.length >= this.opts.maxQueue || this.queuedBytes + bytes > MAX_QUEUE_BYTES) return shed('shed_full');
    this.queue.push({ event, at: performance.now(), bytes });
    this.queuedBytes += bytes;
    fastIndexQueue.set(this.queue.length);
    this.schedule();
  };

  /** Stops taking changes and sends what waits, for at most `ms`; the rest is left to the change log. */
  async close(ms: number): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (Date.now() < this.pausedUntil) this.drop('shed_closing');
    while (this.queue.length > 0) this.send();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => { timer = setTimeout(resolve, ms); }),
    ]);
    clearTimeout(timer);
  }

  /**
   * Sends once the oldest change waited `lingerMs` (or a bulk is full), while fewer than CONCURRENCY are out and
   * no pause holds.
   */
  private schedule(): void {
    if (this.queue.length === 0 || this.inFlight.size >= CONCURRENCY) return;
    const paused = this.pausedUntil - Date.now();
    if (paused > 0) {
      this.timer ??= setTimeout(() => { this.timer = null; this.schedule(); }, paused);
      return;
    }
    const wait = this.opts.lingerMs - (performance.now() - this.queue[0]!.at);
    if (wait <= 0 || this.queue.length >= MAX_BATCH) {
      this.send();
      return;
    }
    this.timer ??= setTimeout(() => { this.timer = null; this.send(); }, wait);
  }

  private send(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.queue.splice(0, MAX_BATCH);
    for (const q of batch) this.queuedBytes -= q.bytes;
    fastIndexQueue.set(this.queue.length);
    if (batch.length === 0) return;
    const p = this.apply(batch).finally(() => {
      this.inFlight.delete(p);
      if (!this.closed) this.schedule();
    });
    this.inFlight.add(p);
    if (!this.closed) this.schedule();
  }

  private async apply(batch: Queued[]): Promise<void> {
    try {
      const r = await this.indexer.applyChanges(batch.map((q) => q.event));
      const now = performance.now();
      for (const q of batch) fastIndexDelay.observe((now - q.at) / 1000);
      fastIndexEvents.inc({ result: 'written' }, r.written);
      fastIndexEvents.inc({ result: 'stale' }, r.stale);
      // A permanent refusal (mapping) is logged by the indexer; the change log meets the same refusal.
      fastIndexEvents.inc({ result: 'refused' }, r.failed.length);
      this.pauseMs = 0;
    } catch (err) {
      if (!(err instanceof AppError && err.status === 503)) {
        // Not OpenSearch's state but a change no retry can fix (checkEvent refused it): the change log's.
        this.log.error({ err: (err as Error).message, count: batch.length }, 'search fast path dropped a bulk');
        fastIndexEvents.inc({ result: 'refused' }, batch.length);
        return;
      }
      // Down, slow past the timeout, shedding load, or the alias missing: again after the pause. Resending is
      // safe (external versions); if the queue is closed or meanwhile full, the change log takes them.
      if (this.closed) {
        shed('shed_closing', batch.length);
      } else {
        this.queue.unshift(...batch);
        for (const q of batch) this.queuedBytes += q.bytes;
        this.trim();
      }
      this.pause(err.message);
    }
  }

  /** Beyond the bounds (a bulk came back while new changes filled the queue): the newest are shed. */
  private trim(): void {
    while (this.queue.length > this.opts.maxQueue || this.queuedBytes > MAX_QUEUE_BYTES) {
      this.queuedBytes -= this.queue.pop()!.bytes;
      shed('shed_full');
    }
    fastIndexQueue.set(this.queue.length);
  }

  private drop(result: Shed): void {
    shed(result, this.queue.length);
    this.queue = [];
    this.queuedBytes = 0;
    fastIndexQueue.set(0);
  }

  private pause(reason: string): void {
    const first = this.pauseMs === 0;
    this.pauseMs = Math.min(PAUSE_MAX_MS, this.pauseMs * 2 || PAUSE_MIN_MS);
    this.pausedUntil = Date.now() + this.pauseMs;
    // Once per outage at warn, then quieter: the change log keeps indexing, so this is not an error.
    const fields = { reason, pauseMs: this.pauseMs };
    if (first) this.log.warn(fields, 'search fast path paused; changes queue meanwhile (the change log delivers them too)');
    else this.log.debug(fields, 'search fast path still paused');
  }
}

const shed = (result: Shed, n = 1): void => {
  if (n > 0) fastIndexEvents.inc({ result }, n);
};
