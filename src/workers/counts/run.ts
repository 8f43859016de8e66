import type { Db } from '../../storage/cassandra.js';
import type { Logger } from '../../logger.js';
import { CountsWorker, CONSUMER, type CountsSettings } from './counts-worker.js';
import { CHANGE_LOG } from '../../chats/changes.js';
import type { SkewGate } from '../skew-gate.js';
import { startLoop, type Loop } from '../loop.js';
import { countsLag, countsReconcileLastSuccess, countsRuns } from '../../observability/chat-metrics.js';
import { logConsumerLag } from '../../observability/metrics.js';

/** What the counts worker of a process needs (settings.ts maps it): the worker's settings and the reconciliation's period. */
export interface CountsProcessSettings {
  worker: CountsSettings;
  /** COUNTS_RECONCILE_SECONDS. */
  reconcileSeconds: number;
}

export interface CountsLoopOptions {
  /** Seconds between passes over the change log. */
  everySeconds: number;
  /** Seconds between full reconciliations (≤ 3600, so counts are never wrong for more than an hour). */
  reconcileSeconds: number;
  /** Passes wait while this process's clock is out of the skew budget. */
  gate?: SkewGate;
}

/** One pass over the change log, with its metrics. */
export async function countsPass(worker: CountsWorker, log: Logger, now?: number): Promise<'success' | 'failure' | 'locked'> {
  try {
    const result = await worker.consumeLog(now);
    if (result === null) {
      const lag = await worker.lagSeconds().catch(() => null);
      if (lag !== null) setLag(lag);
      return record('log', 'locked');
    }
    setLag(result.lagSeconds);
    if (result.entries > 0) log.debug({ buckets: result.buckets, entries: result.entries }, 'counts pass done');
    return record('log', 'success');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'counts pass failed');
    const lag = await worker.lagSeconds().catch(() => null);
    if (lag !== null) setLag(lag);
    return record('log', 'failure');
  }
}

export async function reconcilePass(worker: CountsWorker, log: Logger): Promise<'success' | 'failure' | 'locked'> {
  const started = Date.now();
  try {
    const result = await worker.reconcile();
    if (result === null) return record('reconcile', 'locked');
    countsReconcileLastSuccess.set(Date.now() / 1000);
    log.info({ ...result, durationMs: Date.now() - started }, 'counts reconciled');
    return record('reconcile', 'success');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'counts reconciliation failed');
    return record('reconcile', 'failure');
  }
}

/**
 * The counts worker as a loop (the `ephemera counts` command, and a timer inside `serve --counts-every` for
 * local runs): a log pass every `everySeconds`, a reconciliation every `reconcileSeconds`, one at a time.
 * Several processes may run it: LWT locks make the others skip a pass.
 */
export function startCountsLoop(db: Db, settings: CountsSettings, log: Logger, opts: CountsLoopOptions): Loop {
  const worker = new CountsWorker(db, settings, log);
  let lastReconcile = 0;
  const loop = startLoop(async () => {
    const reconcileDue = Date.now() - lastReconcile >= opts.reconcileSeconds * 1000;
    if (!(await (opts.gate?.open() ?? true))) return;
    await countsPass(worker, log);
    if (!reconcileDue) return;
    lastReconcile = Date.now();
    await reconcilePass(worker, log);
  }, opts.everySeconds);
  log.info({ everySeconds: opts.everySeconds, reconcileSeconds: opts.reconcileSeconds }, 'counts worker on');
  return {
    async stop() {
      await loop.stop();
      opts.gate?.stop();
    },
  };
}

function record(kind: 'log' | 'reconcile', result: 'success' | 'failure' | 'locked') {
  countsRuns.inc({ kind, result });
  return result;
}

function setLag(seconds: number): void {
  countsLag.set(seconds);
  logConsumerLag.set({ log: CHANGE_LOG.name, consumer: CONSUMER }, seconds);
}
