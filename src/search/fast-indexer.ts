import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { fastIndexBacklog, fastIndexDelay, fastIndexEvents, fastIndexQueue } from '../observability/search-metrics.js';
import type { ChangeEvent } from './documents.js';
import type { MessageIndexer } from './message-indexer.js';

export interface FastIndexOptions {
  /** Changes waiting at most (fresh and backlog together); beyond, the oldest are shed (the change log has them). */
  maxQueue: number;
  /** How long the first change of a fresh bulk waits for company. */
  lingerMs: number;
  /** While OpenSearch is down: one small bulk per this many ms tells when it is back. Default PROBE_MS. */
  probeMs?: number;
}

/**
 * Fresh bulks in flight at once, of at most FRESH_BATCH changes. A bulk of a few documents takes ~5-30 ms on the
 * local node, so two carry 500 changes/s in bulks of ~5; while both are busy the queue gathers the next bulk.
 * Each must fit the fresh lane's 2 s timeout on a busy node: with bulks of 500, a 15 s outage's 3,000 changes
 * (200 writes/s, load average 31) took 27 s to drain.
 */
const FRESH_CONCURRENCY = 2;
const FRESH_BATCH = 100;
/**
 * The fresh lane holds at most the next two bulks: older changes (a burst, or everything queued during an outage)
 * move to the backlog, so a change offered now never waits behind more than 200 others.
 */
const FRESH_KEEP = FRESH_CONCURRENCY * FRESH_BATCH;
/**
 * The backlog goes out newest first, in bulks of 1,000 (MessageIndexer's item cap; ≤ 4 MiB) under the bulk timeout
 * (30 s): per document a large bulk costs OpenSearch less than ten small ones.
 */
const BACKLOG_BATCH = 1_000;
/**
 * Backlog bulks in flight at once. OpenSearch indexes bulks to the one shard in parallel: 12,000 changes into the
 * local node took 2.6 s one bulk at a time, 2.0 s two at a time, 1.3 s four (nothing else indexing, load 10).
 * Beside the fresh lane (make bench-catchup, 8 alternating runs, load 14-23) the drain took 3.7 s with one, 2.7 s
 * with two (new writes' p99 1.02 -> 1.16 s); three drained no faster than one and raised that p99 to 1.6 s.
 */
const BACKLOG_CONCURRENCY = 2;
/**
 * While OpenSearch is down, the fresh lane sends one bulk (≤ 100 changes) per 250 ms with the short timeout: a
 * refused connection costs nothing, a hung one holds one socket for 2 s (one probe at a time, so at most one
 * socket), and OpenSearch's return is noticed within 0.25 s (the first version paused 1 s doubling to 5 s, which
 * alone took up to 5 s of a 2 s goal after an outage; the second probed every 500 ms).
 */
const PROBE_MS = 250;
/**
 * A backlog of at least this many changes, once sent, is made searchable by one refresh instead of waiting for
 * the refresh interval (500 ms): a catch-up after an outage, not each burst of a busy second.
 */
const REFRESH_AFTER = BACKLOG_BATCH;
/**
 * Bytes the queue holds at most, whatever its length: 20,000 chat messages of ~200 bytes are 12 MB, while 20,000
 * of the 64 KB allowed would be 1.3 GB. A change counts its body plus ENTRY_BYTES, what one costs besides its body
 * (measured: 361 bytes of heap per queued change with a 16-character body, node --expose-gc, 100,000 of them).
 */
const MAX_QUEUE_BYTES = 32 * 1024 * 1024;
const ENTRY_BYTES = 384;

interface Queued { event: ChangeEvent; at: number; bytes: number }
type Shed = 'shed_full' | 'shed_closing';

/**
 * The fast path of search indexing (issue 29): the API process hands each message change, once Cassandra
 * acknowledged its row write, to this bounded queue, which sends it to OpenSearch in a `_bulk` within a few ms.
 * It is an accelerator only: the change log (src/workers/indexer/indexer-worker.ts) still delivers every change 5-20 s later,
 * so whatever this path drops (queue full, OpenSearch down or slow, process killed) is indexed anyway. Both paths
 * write through MessageIndexer with external versions: whichever comes second is refused as stale, and an older
 * version never replaces a newer one or a tombstone, so the order in which this class sends changes is free.
 *
 * Two lanes, so fresh changes go ahead of an outage's backlog:
 * - fresh: the newest ≤ 200 changes, oldest first, in bulks of ≤ 100 after `lingerMs`, two in flight, with the
 *   short timeout (OPENSEARCH_REQUEST_TIMEOUT_MS);
 * - backlog: everything older (changes that waited through an outage or a burst), newest first, in bulks of
 *   ≤ 1,000, two in flight, only while OpenSearch answers; a large backlog ends with one refresh.
 * When the queue is full the oldest change is shed: the change log walks from its oldest bucket, so it delivers
 * those first, while this path keeps the newest.
 *
 * `offer` never waits and never throws: a write's latency does not depend on OpenSearch. A bulk that fails for
 * want of OpenSearch (down, slow past its timeout, shedding load, alias missing) puts its changes back and marks
 * OpenSearch down: the backlog stops, the fresh lane sends one bulk per 250 ms, and the first bulk that succeeds
 * marks it up again.
 */
export class FastIndexer {
  /** Oldest first; never more than FRESH_KEEP (older ones move to the backlog). */
  private fresh: Queued[] = [];
  /** Oldest first, all older than `fresh`'s; sent from the end. */
  private backlog: Queued[] = [];
  private queuedBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private freshInFlight = 0;
  private backlogInFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private down = false;
  /** Backlog changes acknowledged since the backlog was last empty: REFRESH_AFTER or more end with a refresh. */
  private drained = 0;
  private nextProbeAt = 0;
  private closed = false;
  private readonly probeMs: number;

  /** `backlogIndexer`: the same index with the bulk timeout (30 s) for the backlog's large bulks. */
  constructor(private readonly indexer: MessageIndexer, private readonly opts: FastIndexOptions,
    private readonly log: Logger, private readonly backlogIndexer: MessageIndexer = indexer) {
    this.probeMs = opts.probeMs ?? PROBE_MS;
  }

  /** No bulk (nor refresh) in flight. */
  get idle(): boolean {
    return this.inFlight.size === 0;
  }

  /** Changes waiting: in the fresh lane, in the backlog. */
  get waiting(): { fresh: number; backlog: number } {
    return { fresh: this.fresh.length, backlog: this.backlog.length };
  }

  readonly offer = (event: ChangeEvent): void => {
    if (this.closed) return shed('shed_closing');
    const bytes = ENTRY_BYTES + (event.body?.length ?? 0);
    this.fresh.push({ event, at: performance.now(), bytes });
    this.queuedBytes += bytes;
    this.overflow();
    this.schedule();
  };

  /** Stops taking changes and sends the fresh lane, for at most `ms`; the backlog is left to the change log. */
  async close(ms: number): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    shed('shed_closing', this.backlog.length);
    for (const q of this.backlog) this.queuedBytes -= q.bytes;
    this.backlog = [];
    if (this.down) this.drop('shed_closing');
    while (this.fresh.length > 0) this.sendFresh();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => { timer = setTimeout(resolve, ms); }),
    ]);
    clearTimeout(timer);
  }

  /**
   * Fresh lane: sends once its oldest change waited `lingerMs` (or a bulk is full), while fewer than two are out;
   * while OpenSearch is down, one bulk at a time and one per `probeMs`, taking the newest of the backlog when no
   * fresh change waits. Backlog lane: up to BACKLOG_CONCURRENCY bulks while OpenSearch is up.
   */
  private schedule(): void {
    if (this.closed) return;
    while (!this.down && this.backlogInFlight < BACKLOG_CONCURRENCY && this.backlog.length > 0) this.sendBacklog();
    if (this.down) return this.scheduleProbe();
    while (this.fresh.length > 0 && this.freshInFlight < FRESH_CONCURRENCY) {
      const wait = this.opts.lingerMs - (performance.now() - this.fresh[0]!.at);
      if (wait > 0 && this.fresh.length < FRESH_BATCH) {
        this.timer ??= setTimeout(() => { this.timer = null; this.schedule(); }, wait);
        return;
      }
      this.sendFresh();
    }
  }

  /** OpenSearch down: one fresh bulk at a time, one per `probeMs`; the newest of the backlog if none is fresh. */
  private scheduleProbe(): void {
    if (this.timer || this.freshInFlight > 0 || this.fresh.length + this.backlog.length === 0) return;
    const wait = this.nextProbeAt - performance.now();
    if (wait > 0) {
      this.timer = setTimeout(() => { this.timer = null; this.schedule(); }, wait);
      return;
    }
    if (this.fresh.length === 0) this.fresh = this.backlog.splice(-FRESH_BATCH);
    this.nextProbeAt = performance.now() + this.probeMs;
    this.sendFresh();
  }

  private sendFresh(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.take(this.fresh.splice(0, FRESH_BATCH));
    if (batch.length === 0) return;
    this.freshInFlight++;
    this.track(this.apply(this.indexer, batch, 'fresh').finally(() => { this.freshInFlight--; }));
  }

  private sendBacklog(): void {
    const batch = this.take(this.backlog.splice(-BACKLOG_BATCH));
    if (batch.length === 0) return;
    this.backlogInFlight++;
    this.track(this.apply(this.backlogIndexer, batch, 'backlog').finally(() => {
      this.backlogInFlight--;
      this.refreshAfterCatchUp();
    }));
  }

  /**
   * The last bulk of a large backlog was acknowledged: one refresh makes it searchable now rather than at the next
   * refresh interval (up to 500 ms later). A failed refresh is harmless: the interval refreshes anyway.
   */
  private refreshAfterCatchUp(): void {
    if (this.backlog.length > 0 || this.backlogInFlight > 0) return;
    const large = this.drained >= REFRESH_AFTER && !this.down && !this.closed;
    this.drained = 0;
    if (!large) return;
    this.track(this.backlogIndexer.refresh().catch((err: unknown) => {
      this.log.debug({ err: (err as Error).message }, 'search fast path: refresh after a catch-up failed');
    }));
  }

  private take(batch: Queued[]): Queued[] {
    for (const q of batch) this.queuedBytes -= q.bytes;
    this.gauge();
    return batch;
  }

  private track(sent: Promise<void>): void {
    const p = sent.finally(() => {
      this.inFlight.delete(p);
      this.schedule();
    });
    this.inFlight.add(p);
  }

  private async apply(indexer: MessageIndexer, batch: Queued[], lane: 'fresh' | 'backlog'): Promise<void> {
    try {
      const r = await indexer.applyChanges(batch.map((q) => q.event));
      const now = performance.now();
      for (const q of batch) fastIndexDelay.observe((now - q.at) / 1000);
      fastIndexEvents.inc({ result: 'written' }, r.written);
      fastIndexEvents.inc({ result: 'stale' }, r.stale);
      // A permanent refusal (mapping) is logged by the indexer; the change log meets the same refusal.
      fastIndexEvents.inc({ result: 'refused' }, r.failed.length);
      if (lane === 'backlog') this.drained += batch.length;
      if (this.down) this.log.info({ backlog: this.backlog.length + this.fresh.length }, 'search fast path: OpenSearch answers again');
      this.down = false;
    } catch (err) {
      if (!(err instanceof AppError && err.status === 503)) {
        // Not OpenSearch's state but a change no retry can fix (checkEvent refused it): the change log's.
        this.log.error({ err: (err as Error).message, count: batch.length }, 'search fast path dropped a bulk');
        fastIndexEvents.inc({ result: 'refused' }, batch.length);
        return;
      }
      // Down, slow past the timeout, shedding load, or the alias missing: again once it answers. Resending is
      // safe (external versions); if the queue is closed or meanwhile full, the change log takes them.
      if (this.closed) {
        shed('shed_closing', batch.length);
        return;
      }
      for (const q of batch) this.queuedBytes += q.bytes;
      if (lane === 'fresh') {
        this.fresh.unshift(...batch);
        this.overflow();
      } else {
        this.backlog = mergeByAge(this.backlog, batch);
        this.trim();
      }
      this.markDown(err.message);
    }
  }

  /**
   * The fresh lane keeps its newest FRESH_KEEP; the older ones join the backlog: at its end, unless they are a
   * failed fresh bulk older than what joined meanwhile.
   */
  private overflow(): void {
    if (this.fresh.length > FRESH_KEEP) {
      const older = this.fresh.splice(0, this.fresh.length - FRESH_KEEP);
      if (this.backlog.length === 0 || older[0]!.at >= this.backlog.at(-1)!.at) this.backlog.push(...older);
      else this.backlog = mergeByAge(this.backlog, older);
    }
    this.trim();
  }

  /** Beyond the bounds: the oldest are shed, backlog first. */
  private trim(): void {
    let n = 0;
    while (this.fresh.length + this.backlog.length > this.opts.maxQueue || this.queuedBytes > MAX_QUEUE_BYTES) {
      const oldest = this.backlog.length > 0 ? this.backlog.shift()! : this.fresh.shift()!;
      this.queuedBytes -= oldest.bytes;
      n++;
    }
    shed('shed_full', n);
    this.gauge();
  }

  private drop(result: Shed): void {
    shed(result, this.fresh.length + this.backlog.length);
    this.fresh = [];
    this.backlog = [];
    this.queuedBytes = 0;
    this.gauge();
  }

  private gauge(): void {
    fastIndexQueue.set(this.fresh.length + this.backlog.length);
    fastIndexBacklog.set(this.backlog.length);
  }

  private markDown(reason: string): void {
    if (!this.down) {
      // Once per outage at warn: the change log keeps indexing, so this is not an error.
      this.log.warn({ reason, probeMs: this.probeMs },
        'search fast path: OpenSearch unavailable; changes queue meanwhile (the change log delivers them too)');
    }
    this.down = true;
    this.nextProbeAt = performance.now() + this.probeMs;
  }
}

/** Two lists sorted by `at` into one. */
function mergeByAge(a: Queued[], b: Queued[]): Queued[] {
  const out: Queued[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && a[i]!.at <= b[j]!.at) ? a[i++]! : b[j++]!);
  return out;
}

const shed = (result: Shed, n = 1): void => {
  if (n > 0) fastIndexEvents.inc({ result }, n);
};
