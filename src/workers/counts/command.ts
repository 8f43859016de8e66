import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Db } from '../../storage/cassandra.js';
import { countsProcessSettings, workerProcessSettings } from '../../settings.js';
import { CountsWorker } from './counts-worker.js';
import { countsPass, reconcilePass, startCountsLoop, type CountsProcessSettings } from './run.js';
import { runWorkerProcess } from '../worker-process.js';
import { skewGate } from '../skew-gate.js';

/** `serve --counts-every`: the worker loop inside the service process (local runs). */
export function startCounts(db: Db, settings: CountsProcessSettings, log: Logger, everySeconds: number) {
  return startCountsLoop(db, settings.worker, log, {
    everySeconds, reconcileSeconds: settings.reconcileSeconds,
    gate: skewGate(db, settings.worker.maxClockSkewMs, 'counts', log).start(),
  });
}

/**
 * `ephemera counts`: the worker as its own process (the chart's Deployment), or one round with --once. A command
 * is a root: it takes the whole Config from cli.ts and maps it at once (settings.ts).
 */
export function countsCommand(config: Config, log: Logger, opts: { every: number; once: boolean }): Promise<number> {
  const settings = countsProcessSettings(config);
  return runWorkerProcess(workerProcessSettings(config), log, 'counts worker', {
    async once(db) {
      const worker = new CountsWorker(db, settings.worker, log);
      if (!(await skewGate(db, settings.worker.maxClockSkewMs, 'counts', log).open())) return 1;
      const pass = await countsPass(worker, log);
      const reconciled = await reconcilePass(worker, log);
      return pass === 'failure' || reconciled === 'failure' ? 1 : 0;
    },
    start: (db) => startCounts(db, settings, log, opts.every),
  }, opts.once);
}
