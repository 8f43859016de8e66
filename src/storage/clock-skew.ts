import type { Db } from './cassandra.js';
import type { Logger } from '../logger.js';
import { clockOffset } from '../observability/metrics.js';
import type { Clock } from '../clock.js';

/** How often the offset is measured again (NTP steps and VM pauses happen while a process runs). */
const RECHECK_MS = 30_000;

/**
 * Measures this process's clock against Cassandra's and says whether it is inside the budget. The exactly-once
 * argument needs every two processes within MAX_CLOCK_SKEW_MS of each other; each one being within half of that
 * of the same coordinator clock guarantees it. The offset is the server time minus the midpoint of the round
 * trip; half the round trip is the uncertainty and is given the benefit of the doubt.
 */
export class ClockSkewCheck {
  private offsetMs: number | null = null;
  private uncertaintyMs = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly db: Db, private readonly budgetMs: number, private readonly log: Logger,
    private readonly now: Clock = Date.now) {}

  start(): void {
    void this.measure().catch(() => undefined);
    this.timer ??= setInterval(() => { void this.measure().catch(() => undefined); }, RECHECK_MS).unref();
  }

  async measure(): Promise<number> {
    const sent = this.now();
    const rs = await this.db.execute('clock_read', 'SELECT toUnixTimestamp(now()) AS t FROM system.local');
    const received = this.now();
    const server = Number(rs.first()!.get('t'));
    this.offsetMs = (sent + received) / 2 - server;
    this.uncertaintyMs = (received - sent) / 2;
    clockOffset.set(this.offsetMs / 1000);
    if (!this.ok) this.log.error({ offsetMs: this.offsetMs, budgetMs: this.budgetMs / 2 }, 'clock skew over budget');
    return this.offsetMs;
  }

  /** Not measured yet counts as not ok: readiness waits for the first measurement. */
  get ok(): boolean {
    return this.offsetMs !== null && Math.abs(this.offsetMs) - this.uncertaintyMs <= this.budgetMs / 2;
  }

  get status(): string {
    if (this.offsetMs === null) return 'not measured';
    return this.ok ? 'ok' : `offset ${Math.round(this.offsetMs)} ms to Cassandra exceeds ${this.budgetMs / 2} ms`;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
