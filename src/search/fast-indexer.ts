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
/** Documents per bulk: 500 small messages are ~100 KB, well inside one short request. */
const MAX_BATCH = 500;
/** After a failed bulk the fast path pauses 1 s, doubling to 30 s while OpenSearch keeps failing. */
const PAUSE_MIN_MS = 1_000;
const PAUSE_MAX_MS = 30_000;

interface Queued { event: ChangeEvent; at: number }
type Shed = 'shed_unavailable' | 'shed_full' | 'shed_closing';

/**
 * The fast path of search indexing (issue 29): the API process hands each message change, once Cassandra
 * acknowledged its row write, to this bounded queue, which sends it to OpenSearch in a `_bulk` within a few ms.
 * It is an accelerator only: the change log (src/workers/indexer.ts) still delivers every change 5-20 s later,
 * so whatever this path drops (queue full, OpenSearch down or slow, process killed) is indexed anyway. Both paths
 * write through MessageIndexer with external versions: whichever comes second is refused as stale, and an older
 * version never replaces a newer one or a tombstone.
 *
 * `offer` never waits and never throws: a write's latency does not depend on OpenSearch. After a failed bulk the
 * queue is dropped and offers are shed for a pause (1 s doubling to 30 s), so an outage costs one bulk timeout per
 * pause, not one per write.
 */
export class FastIndexer {
  private queue: Queued[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private pausedUntil = 0;
  private pauseMs = 0;
  private closed = false;

  constructor(private readonly indexer: MessageIndexer, private readonly opts: FastIndexOptions,
    private readonly log: Logger) {}

  readonly offer = (event: ChangeEvent): void => {
    if (this.closed) return shed('shed_closing');
    if (Date.now() < this.pausedUntil) return shed('shed_unavailable');
    if (this.queue.length >= this.opts.maxQueue) return shed('shed_full');
    this.queue.push({ event, at: performance.now() });
    fastIndexQueue.set(this.queue.length);
    this.schedule();
  };

  /** Stops taking changes and sends what waits, for at most `ms`; the rest is left to the change log. */
  async close(ms: number): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length > 0) this.send();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => { timer = setTimeout(resolve, ms); }),
    ]);
    clearTimeout(timer);
  }

  /** Sends once the oldest change waited `lingerMs` (or a bulk is full), while fewer than CONCURRENCY are out. */
  private schedule(): void {
    if (this.queue.length === 0 || this.inFlight.size >= CONCURRENCY) return;
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
      // Down, slow past the timeout, shedding load, or the alias missing: all of it is the change log's now.
      shed('shed_unavailable', batch.length);
      this.pause((err as Error).message);
    }
  }

  private pause(reason: string): void {
    const first = this.pauseMs === 0;
    this.pauseMs = Math.min(PAUSE_MAX_MS, this.pauseMs * 2 || PAUSE_MIN_MS);
    this.pausedUntil = Date.now() + this.pauseMs;
    shed('shed_unavailable', this.queue.length);
    this.queue = [];
    fastIndexQueue.set(0);
    // Once per outage at warn, then quieter: the change log keeps indexing, so this is not an error.
    const fields = { reason, pauseMs: this.pauseMs };
    if (first) this.log.warn(fields, 'search fast path paused; the change log indexes meanwhile');
    else this.log.debug(fields, 'search fast path still paused');
  }
}

const shed = (result: Shed, n = 1): void => {
  if (n > 0) fastIndexEvents.inc({ result }, n);
};
