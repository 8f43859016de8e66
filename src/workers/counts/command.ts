import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Db } from '../../storage/cassandra.js';
import { processIdentity } from '../../process-identity.js';
import { CountsWorker, type CountsSettings } from './counts-worker.js';
import { countsPass, reconcilePass, startCountsLoop } from './run.js';
import { runWorkerProcess } from '../worker-process.js';
import { skewGate } from '../skew-gate.js';

/** The configuration the counts worker uses. */
export function countsSettings(config: Config): CountsSettings {
  return {
    holder: processIdentity(config.POD_NAME, 'counts'),
    lockTtlSeconds: config.COUNTS_LOCK_TTL_SECONDS,
    logRetentionSeconds: config.CHAT_LOG_RETENTION_SECONDS,
    maxClockSkewMs: config.MAX_CLOCK_SKEW_MS,
  };
}

/** `serve --counts-every`: the worker loop inside the service process (local runs). */
export function startCounts(db: Db, config: Config, log: Logger, everySeconds: number) {
  return startCountsLoop(db, countsSettings(config), log, {
    everySeconds, reconcileSeconds: config.COUNTS_RECONCILE_SECONDS,
    gate: skewGate(db, config.MAX_CLOCK_SKEW_MS, 'counts', log).start(),
  });
}

/** `ephemera counts`: the worker as its own process (the chart's Deployment), or one round with --once. */
export function countsCommand(config: Config, log: Logger, opts: { every: number; once: boolean }): Promise<number> {
  return runWorkerProcess(config, log, 'counts worker', {
    async once(db) {
      const worker = new CountsWorker(db, countsSettings(config), log);
      if (!(await skewGate(db, config.MAX_CLOCK_SKEW_MS, 'counts', log).open())) return 1;
      const pass = await countsPass(worker, log);
      const reconciled = await reconcilePass(worker, log);
      return pass === 'failure' || reconciled === 'failure' ? 1 : 0;
    },
    start: (db) => startCounts(db, config, log, opts.every),
  }, opts.once);
}
