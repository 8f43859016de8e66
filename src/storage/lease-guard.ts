import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { LockLost, type Lease } from './lease.js';

/** A renewal must have been sent this long before the lease's TTL runs out for the lease to count as held. */
const SAFETY_MARGIN_MS = 1_000;

export interface LeaseGuardOptions {
  /** The lease's name in LockLost and in the log ("archiver", "log:chat-changes:counts"). */
  name: string;
  ttlSeconds: number;
  /** Tests move it; the renewal timing and the safety rule read it. */
  clock?: Clock;
  /** Where a lost lease and a failed release are told (a run without one only throws). */
  log?: Logger;
}

/**
 * The one upkeep of a lease that work runs under (the bucketed log's consumers, the archiver's run, the counts and
 * search reconciliations). The lease is renewed once a third of its TTL has passed since the last renewal was sent,
 * one renewal at a time: by a timer, so that a slow read or write between two checks (a 1 MiB slice under load)
 * does not let it lapse, and by `assertHeld` when it finds one due (a timer held up by a busy event loop).
 * `assertHeld` is called before every write that matters:
 * - it passes at once while the last acquire or renewal was sent less than a third of the TTL ago (the lease then
 *   holds for two thirds more, 20 s of a 30 s lease), and otherwise waits for the renewal, shared by every caller
 *   waiting for it, so a walk writing every few milliseconds sends one renewal per TTL/3;
 * - a renewal counts from when it was *sent* (the store counts the TTL from a moment after that), and the lease is
 *   held only until that send + TTL − 1 s: a renewal refused, failed or still unanswered by then loses the lease, so
 *   the work stops before anyone else could have taken it over;
 * - once lost, it throws LockLost then and on every later call, without asking again.
 */
export class LeaseGuard {
  private heldUntil: number;
  private sentAt: number;
  private lostReason: string | null = null;
  private renewing: Promise<void> | null = null;
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly lease: Pick<Lease, 'renew'>, private readonly opts: LeaseGuardOptions,
    acquireSentAt: number) {
    this.ttlMs = opts.ttlSeconds * 1000;
    this.clock = opts.clock ?? Date.now;
    this.sentAt = acquireSentAt;
    this.heldUntil = acquireSentAt + this.ttlMs - SAFETY_MARGIN_MS;
    // Checked twice per third of the TTL, so a renewal is sent at most a sixth of the TTL late. Unref'd: stop() clears
    // it, and a guard nobody stopped (a test's) must not keep the process alive.
    this.timer = setInterval(() => {
      if (this.lostReason === null && this.due()) this.startRenewal().catch(() => undefined);
    }, Math.max(100, this.ttlMs / 6)).unref();
  }

  get lost(): boolean { return this.lostReason !== null; }

  /** Throws LockLost unless the lease is certainly still ours (renewing it first when a third of the TTL passed). */
  readonly assertHeld = async (): Promise<void> => {
    if (this.lostReason === null && this.clock() >= this.heldUntil) this.markLost('no renewal acknowledged in time');
    if (this.lostReason === null && this.due()) {
      if (!(await this.answeredInTime(this.startRenewal()))) this.markLost('renewal unanswered while the lease was ours');
    }
    if (this.lostReason !== null) throw new LockLost(this.opts.name, this.lostReason);
  };

  /**
   * Waits for a renewal in flight, so that a release cannot race it; but no longer than the lease is certainly
   * ours: a renewal still unanswered by then counts as lost (and the caller releases nothing).
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.renewing && !(await this.answeredInTime(this.renewing))) {
      this.markLost('renewal unanswered when the work ended');
    }
  }

  private due(): boolean { return this.clock() - this.sentAt >= this.ttlMs / 3; }

  /** The renewal in flight, or a new one. */
  private startRenewal(): Promise<void> {
    this.renewing ??= this.renew().finally(() => { this.renewing = null; });
    return this.renewing;
  }

  private async answeredInTime(renewal: Promise<void>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      renewal.then(() => true),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), Math.max(0, this.heldUntil - this.clock())); }),
    ]);
    clearTimeout(timer);
    return answered;
  }

  private async renew(): Promise<void> {
    const sentAt = this.clock();
    try {
      if (await this.lease.renew()) {
        this.sentAt = sentAt;
        this.heldUntil = sentAt + this.ttlMs - SAFETY_MARGIN_MS;
      } else {
        this.markLost('renewal refused: the lease expired or was taken over');
      }
    } catch (err) {
      this.markLost(`renewal failed: ${(err as Error).message}`);
    }
  }

  private markLost(reason: string): void {
    if (this.lostReason !== null) return;
    this.lostReason = reason;
    this.opts.log?.warn({ reason }, `${this.opts.name} lock lost`);
  }
}

/**
 * Work under a lease, whole: acquire (null when someone else holds it), run `work` with the guard's `assertHeld`,
 * then wait for a renewal in flight and release the lease if it is still ours, failed or not, so that the next run
 * need not wait for the TTL. A lease not known to be held is left to its TTL: releasing it could free another
 * holder's.
 */
export async function underLease<T>(lease: Lease, opts: LeaseGuardOptions,
  work: (assertHeld: () => Promise<void>) => Promise<T>): Promise<T | null> {
  const acquireSentAt = (opts.clock ?? Date.now)();
  if (!(await lease.tryAcquire())) return null;
  const guard = new LeaseGuard(lease, opts, acquireSentAt);
  try {
    return await work(guard.assertHeld);
  } finally {
    await guard.stop();
    if (!guard.lost) {
      await lease.release().catch((err: unknown) => {
        opts.log?.warn({ err: (err as Error).message }, 'lock release failed; it expires by itself');
      });
    }
  }
}
