import type { Logger } from '../../logger.js';
import { LockLost, type Lease } from '../../storage/lease.js';


/** A renewal must have been sent this long before the lease's TTL runs out for the lease to count as held. */
const LEASE_SAFETY_MARGIN_MS = 1_000;

/**
 * Keeps the lease renewed (one renewal at a time, every third of its TTL) and says whether it is still held.
 * "Held" is what we know for sure: no renewal was refused or failed, and the last acknowledged one was *sent*
 * less than TTL ago (minus a margin), since the store counts the TTL from a moment after we sent it. A renewal
 * that hangs therefore also stops the run, before anyone else can take the lease over.
 */
export class LeaseKeeper {
  private lostReason: string | null = null;
  private heldUntil: number;
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly lock: Lease, private readonly ttlMs: number, acquireSentAt: number,
    private readonly log: Logger) {
    this.heldUntil = acquireSentAt + ttlMs - LEASE_SAFETY_MARGIN_MS;
    this.schedule();
  }

  get lost(): boolean { return this.lostReason !== null; }

  /** Throws LockLost unless the lease is certainly still ours. */
  assertHeld(): void {
    if (this.lostReason === null && Date.now() >= this.heldUntil) this.markLost('no renewal acknowledged in time');
    if (this.lostReason !== null) throw new LockLost('archiver', this.lostReason);
  }

  /**
   * Stops renewing and waits for a renewal in flight, so that a release cannot race it; but no longer than the
   * lease is certainly ours: a renewal still unanswered by then counts as lost (and nothing is released).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.renewing) return;
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      this.renewing.then(() => true),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), Math.max(0, this.heldUntil - Date.now())); }),
    ]);
    clearTimeout(timer);
    if (!answered) this.markLost('renewal unanswered when the run ended');
  }

  private schedule(): void {
    const every = Math.max(1000, Math.floor(this.ttlMs / 3));
    this.timer = setTimeout(() => {
      this.renewing = this.renew().finally(() => {
        this.renewing = null;
        if (!this.stopped && !this.lost) this.schedule();
      });
    }, every);
  }

  private async renew(): Promise<void> {
    const sentAt = Date.now();
    try {
      if (await this.lock.renew()) this.heldUntil = sentAt + this.ttlMs - LEASE_SAFETY_MARGIN_MS;
      else this.markLost('renewal refused: the lease expired or was taken over');
    } catch (err) {
      this.markLost(`renewal failed: ${(err as Error).message}`);
    }
  }

  private markLost(reason: string): void {
    if (this.lostReason !== null) return;
    this.lostReason = reason;
    this.log.warn({ holder: this.lock.holder, reason }, 'archiver lock lost');
  }
}

