import type { Db } from '../storage/cassandra.js';
import type { Logger } from '../logger.js';
import { ClockSkewCheck } from '../storage/clock-skew.js';
import { workerClockPaused } from '../observability/metrics.js';

/**
 * Derived-work passes (counts, search indexer, archiver) wait while this process's clock is outside the skew
 * budget: each decides which buckets have settled by its own clock, and a clock running ahead by more than the
 * change log's lateness margin (MAX_CLOCK_SKEW_MS + 500 ms) could walk a bucket before an acknowledged append
 * landed in it. The offset is measured at start, every 30 s, and again before a pass while it is out of bounds.
 */
export class SkewGate {
  private paused = false;

  constructor(private readonly check: ClockSkewCheck, private readonly worker: string, private readonly log: Logger) {
    workerClockPaused.set({ worker }, 0);
  }

  start(): this { this.check.start(); return this; }

  stop(): void { this.check.stop(); }

  /**
   * Whether a pass may run now; logs when a pause starts and ends, and keeps the gauge at 1 while paused. Only a
   * measured offset pauses: a clock that could not be measured yet (Cassandra slow or down) lets the pass run,
   * which then meets the same Cassandra and fails or succeeds on its own.
   */
  async open(): Promise<boolean> {
    if (!this.check.ok) await this.check.measure().catch(() => undefined);
    const ok = this.check.ok || this.check.status === 'not measured';
    if (ok === this.paused) {
      this.paused = !ok;
      workerClockPaused.set({ worker: this.worker }, ok ? 0 : 1);
      if (ok) this.log.info({ worker: this.worker }, 'clock back within the skew budget; passes resume');
      else this.log.warn({ worker: this.worker, clock: this.check.status }, 'clock skew out of bounds; passes paused');
    }
    return ok;
  }
}

export function skewGate(db: Db, maxClockSkewMs: number, worker: string, log: Logger): SkewGate {
  return new SkewGate(new ClockSkewCheck(db, maxClockSkewMs, log), worker, log);
}
