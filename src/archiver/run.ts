import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Db } from '../storage/cassandra.js';
import { MessageStore } from '../messages/message-store.js';
import { Archiver, type SweepResult } from './archiver.js';
import { createArchiverLock, type ArchiverLock } from './locks.js';
import {
  archiverLag, archiverLastSuccess, archiverRunDuration, archiverRuns, registry,
} from '../observability/metrics.js';

export type Outcome = 'success' | 'failure' | 'locked';

export class LockLostError extends Error {
  constructor() { super('archiver lock lost; stopping at once'); }
}

export interface RunOptions {
  push?: boolean;
  /** Pretend the clock reads this (tests sweep "the future" instead of waiting for minute buckets). */
  now?: number;
  lock?: ArchiverLock;
}

/**
 * One archiver run: take the cluster-wide lock, sweep, record the result. The lock is renewed in the
 * background; the moment a renewal fails the sweep is stopped before its next write.
 */
export async function runArchiver(db: Db, config: Config, log: Logger, opts: RunOptions = {}): Promise<Outcome> {
  const started = Date.now();
  const archiver = new Archiver(db, new MessageStore(db), config, log);
  let outcome: Outcome = 'failure';
  let lock: ArchiverLock | null = null;
  try {
    lock = opts.lock ?? await createArchiverLock(db, config, log);
    if (!(await lock.tryAcquire())) {
      outcome = 'locked';
      log.info({ holder: lock.holder }, 'another archiver holds the lock; nothing to do');
      return outcome;
    }
    let lost = false;
    let result: SweepResult;
    const renewEvery = Math.max(1000, (config.ARCHIVER_LOCK_TTL_SECONDS * 1000) / 3);
    const renewal = setInterval(() => {
      lock!.renew().then((ok) => { if (!ok) lost = true; }, () => { lost = true; });
    }, renewEvery);
    try {
      result = await archiver.sweep(() => { if (lost) throw new LockLostError(); }, opts.now);
    } finally {
      clearInterval(renewal);
    }
    if (!lost) await lock.release();
    outcome = 'success';
    archiverLastSuccess.set(Date.now() / 1000);
    archiverLag.set(result.lagSeconds);
    log.info({ swept: result.swept, buckets: result.buckets, lagSeconds: result.lagSeconds,
      durationMs: Date.now() - started }, 'archiver run done');
    return outcome;
  } catch (err) {
    log.error({ err: (err as Error).message, durationMs: Date.now() - started }, 'archiver run failed');
    const checkpoint = await archiver.checkpoint().catch(() => null);
    if (checkpoint !== null) archiverLag.set(archiver.lagSeconds(checkpoint, Date.now()));
    return outcome;
  } finally {
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
