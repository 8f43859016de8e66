import type { Logger } from '../../logger.js';
import type { Db } from '../../storage/cassandra.js';
import { ColdStore } from '../../inbox/cold-store.js';
import { Archiver, type ArchiverSettings, type SweepResult } from './archiver.js';
import { ArchiverStore } from './archiver-store.js';
import { createArchiverLock, type ArchiverLockSettings } from './lock-factory.js';
import type { Lease } from '../../storage/lease.js';
import { underLease } from '../../storage/lease-guard.js';
import { pushArchiverMetrics } from './pushgateway.js';
import { skewGate, type SkewGate } from '../skew-gate.js';
import {
  archiverLag, archiverLastSuccess, archiverRunDuration, archiverRuns,
} from '../../observability/metrics.js';

export type Outcome = 'success' | 'failure' | 'locked' | 'paused';

/** What an archiver run needs (settings.ts maps it). */
export interface ArchiverRunSettings {
  sweep: ArchiverSettings;
  lock: ArchiverLockSettings;
  /** MAX_CLOCK_SKEW_MS: a run waits while this process's clock is further off. */
  maxClockSkewMs: number;
  /** PUSHGATEWAY_URL: where a one-shot run (`ephemera archive`) pushes its metrics, if anywhere. */
  pushgatewayUrl: string | undefined;
}

export interface RunOptions {
  push?: boolean;
  /** Pretend the clock reads this (tests sweep "the future" instead of waiting for minute buckets). */
  now?: number;
  lock?: Lease;
  /** The skew check a run waits on (tests give one a clock of their own); by default one on this process's clock. */
  gate?: SkewGate;
}

/** The archiver decides which minute buckets have settled by its own clock: a run waits while it is out of bounds. */
const clockOk = (db: Db, maxClockSkewMs: number, log: Logger, gate?: SkewGate) =>
  (gate ?? skewGate(db, maxClockSkewMs, 'archiver', log)).open();

/**
 * One archiver run: take the cluster-wide lock, sweep, record the result. The lock is kept by the one lease guard
 * (storage/lease-guard.ts): the moment it is lost (renewal refused, failed or late) the sweep stops before its next
 * write. The lock is released at the end of every run that still holds it, failed or not, so a retry need not wait.
 */
export async function runArchiver(db: Db, settings: ArchiverRunSettings, log: Logger, opts: RunOptions = {}): Promise<Outcome> {
  const started = Date.now();
  const archiver = new Archiver(new ArchiverStore(db), new ColdStore(db), settings.sweep, log);
  let outcome: Outcome = 'failure';
  try {
    if (!(await clockOk(db, settings.maxClockSkewMs, log, opts.gate))) {
      outcome = 'paused';
      return outcome;
    }
    const lock = opts.lock ?? await createArchiverLock(db, settings.lock, log);
    const result: SweepResult | null = await underLease(lock,
      { name: 'archiver', ttlSeconds: settings.lock.ttlSeconds, log },
      (assertHeld) => archiver.sweep(assertHeld, opts.now));
    if (result === null) {
      outcome = 'locked';
      log.info({ holder: lock.holder }, 'another archiver holds the lock; nothing to do');
      return outcome;
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
    archiverRuns.inc({ result: outcome });
    archiverRunDuration.set((Date.now() - started) / 1000);
    if (opts.push && settings.pushgatewayUrl) await pushArchiverMetrics(settings.pushgatewayUrl, log);
  }
}
