import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { Db } from '../storage/cassandra.js';
import { processIdentity } from '../process-identity.js';
import { CountsWorker, type CountsSettings } from './counts.js';
import { countsPass, reconcilePass, startCountsLoop } from './counts-run.js';
import { serveWorkerMetrics } from './worker-metrics.js';

/** The configuration the counts worker uses. */
export function countsSettings(config: Config): CountsSettings {
  return {
    holder: processIdentity(config.POD_NAME, 'counts'),
    lockTtlSeconds: config.COUNTS_LOCK_TTL_SECONDS,
    logRetentionSeconds: config.CHAT_LOG_RETENTION_SECONDS,
  };
}

/** `serve --counts-every`: the worker loop inside the service process (local runs). */
export function startCounts(db: Db, config: Config, log: Logger, everySeconds: number) {
  return startCountsLoop(db, countsSettings(config), log,
    { everySeconds, reconcileSeconds: config.COUNTS_RECONCILE_SECONDS });
}

/** `ephemera counts`: the worker as its own process (the chart's Deployment), or one round with --once. */
export async function countsCommand(config: Config, log: Logger, opts: { every: number; once: boolean }): Promise<number> {
  const db = new Db(config, log);
  try {
    await db.connect();
    if (opts.once) {
      const worker = new CountsWorker(db, countsSettings(config), log);
      const pass = await countsPass(worker, log);
      const reconciled = await reconcilePass(worker, log);
      return pass === 'failure' || reconciled === 'failure' ? 1 : 0;
    }
    const loop = startCounts(db, config, log, opts.every);
    const metrics = serveWorkerMetrics(config, log, 'counts worker');
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    metrics.close();
    await loop.stop();
    return 0;
  } catch (err) {
    log.error({ err }, 'counts worker could not start');
    return 1;
  } finally {
    await db.shutdown();
  }
}
