import type { Logger } from '../logger.js';
import type { CassandraSettings, Db } from '../storage/cassandra.js';
import { withDb } from '../storage/with-db.js';
import { serveWorkerMetrics, type WorkerMetricsSettings } from './worker-metrics.js';

/** What a worker process needs beside its worker's own settings: its Cassandra client and its /metrics. */
export interface WorkerProcessSettings { cassandra: CassandraSettings; metrics: WorkerMetricsSettings }

export interface WorkerProcess {
  /** One round (`--once`): the exit code. */
  once(db: Db): Promise<number>;
  /** The loop of a long-running worker; stopped on SIGTERM/SIGINT. */
  start(db: Db): { stop(): Promise<void> };
}

/**
 * A derived-work worker as its own process (the chart's Deployments): connect, run one round or the loop with
 * its /metrics and /healthz until SIGTERM, stop the loop, close the driver. Exit 1 when it cannot start.
 */
export async function runWorkerProcess(settings: WorkerProcessSettings, log: Logger, what: string, worker: WorkerProcess,
  once: boolean): Promise<number> {
  try {
    return await withDb(settings.cassandra, log, async (db) => {
      if (once) return worker.once(db);
      const loop = worker.start(db);
      const metrics = serveWorkerMetrics(settings.metrics, log, what);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      metrics.close();
      await loop.stop();
      return 0;
    });
  } catch (err) {
    log.error({ err }, `${what} could not start`);
    return 1;
  }
}
