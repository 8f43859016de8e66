import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Db } from '../storage/cassandra.js';
import { MessageStore } from '../messages/message-store.js';
import { Archiver, type SweepResult } from './archiver.js';
import { ArchiverStore } from './archiver-store.js';
import { createArchiverLock, type ArchiverLock } from './locks.js';
import {
  archiverLag, archiverLastSuccess, archiverRunDuration, archiverRuns, registry,
} from '../observability/metrics.js';

export type Outcome = 'success' | 'failure' | 'locked';

export class LockLostError extends Error {
  constructor(reason: string) { super(`archiver lock lost (${reason}); stopping at once`); }
}

export interface RunOptions {
  push?: boolean;
  /** Pretend the clock reads this (tests sweep "the future" instead of waiting for minute buckets). */
  now?: number;
  lock?: ArchiverLock;
}

/** A renewal must have been sent this long before the lease's TTL runs out for the lease to count as held. */
const LEASE_SAFETY_MARGIN_MS = 1_000;

/**
 * Keeps the lease renewed (one renewal at a time, every third of its TTL) and says whether it is still held.
 * "Held" is what we know for sure: no renewal was refused or failed, and the last acknowledged one was *sent*
 * less than TTL ago (minus a margin), since the store counts the TTL from a moment after we sent it. A renewal
 * that hangs therefore also stops the run, before anyone else can take the lease over.
 */
class LeaseKeeper {
  private lostReason: string | null = null;
  private heldUntil: number;
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly lock: ArchiverLock, private readonly ttlMs: number, acquireSentAt: number,
    private readonly log: Logger) {
    this.heldUntil = acquireSentAt + ttlMs - LEASE_SAFETY_MARGIN_MS;
    this.schedule();
  }

  get lost(): boolean { return this.lostReason !== null; }

  /** Throws LockLostError unless the lease is certainly still ours. */
  assertHeld(): void {
    if (this.lostReason === null && Date.now() >= this.heldUntil) this.markLost('no renewal acknowledged in time');
    if (this.lostReason !== null) throw new LockLostError(this.lostReason);
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

/**
 * One archiver run: take the cluster-wide lock, sweep, record the result. The lock is renewed in the
 * background; the moment it is lost (renewal refused, failed or late) the sweep stops before its next write.
 * The lock is released at the end of every run that still holds it, failed or not, so a retry need not wait.
 */
export async function runArchiver(db: Db, config: Config, log: Logger, opts: RunOptions = {}): Promise<Outcome> {
  const started = Date.now();
  const archiver = new Archiver(new ArchiverStore(db), new MessageStore(db), config, log);
  let outcome: Outcome = 'failure';
  let lock: ArchiverLock | null = null;
  let keeper: LeaseKeeper | null = null;
  try {
    lock = opts.lock ?? await createArchiverLock(db, config, log);
    const acquireSentAt = Date.now();
    if (!(await lock.tryAcquire())) {
      outcome = 'locked';
      log.info({ holder: lock.holder }, 'another archiver holds the lock; nothing to do');
      return outcome;
    }
    keeper = new LeaseKeeper(lock, config.ARCHIVER_LOCK_TTL_SECONDS * 1000, acquireSentAt, log);
    const held = keeper;
    let result: SweepResult;
    try {
      result = await archiver.sweep(() => held.assertHeld(), opts.now);
    } finally {
      await held.stop();
    }
    outcome = 'success';
    archiverLastSuccess.set(Date.now() / 1000);
    archiverLag.set(result.lagSeconds);
    log.info({ swept: result.swept, buckets: result.buckets, sweptUntil: result.sweptUntil,
      lagSeconds: result.lagSeconds, durationMs: Date.now() - started }, 'archiver run done');
    return outcome;
  } catch (err) {
    log.error({ err: (err as Error).message, durationMs: Date.now() - started }, 'archiver run failed');
    const checkpoint = await archiver.checkpoint().catch(() => null);
    if (checkpoint !== null) archiverLag.set(archiver.lagSeconds(checkpoint, opts.now ?? Date.now()));
    return outcome;
  } finally {
    if (lock && keeper && !keeper.lost) {
      await lock.release().catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'lock release failed; it expires by itself');
      });
    }
    archiverRuns.inc({ result: outcome });
    archiverRunDuration.set((Date.now() - started) / 1000);
    if (opts.push && config.PUSHGATEWAY_URL) await push(config.PUSHGATEWAY_URL, log);
  }
}

async function push(url: string, log: Logger): Promise<void> {
  try {
    const body = (await registry.getMetricsAsJSON())
      .filter((m) => m.name.startsWith('ephemera_archiver_') || m.name === 'ephemera_messages_archived_total');
    const text = (await Promise.all(body.map((m) => registry.getSingleMetricAsString(m.name)))).join('\n') + '\n';
    const res = await fetch(`${url.replace(/\/$/, '')}/metrics/job/ephemera-archiver`, {
      method: 'PUT', body: text, headers: { 'content-type': 'text/plain; version=0.0.4' },
    });
    if (!res.ok) throw new Error(`pushgateway answered ${res.status}`);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'metrics push failed');
  }
}
