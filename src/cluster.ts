import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import client from 'prom-client';
import type { Logger } from './logger.js';
import { registry } from './observability/metrics.js';

/** Which worker this process is (0-based), or null when it is not a cluster worker. */
export function workerIndex(): number | null {
  return cluster.isWorker ? Number(process.env.EPHEMERA_WORKER_INDEX ?? 0) : null;
}

/** A worker answers the primary's metric requests with its own registry. */
export function joinCluster(): void {
  // prom-client installs the worker's IPC listener when an AggregatorRegistry is constructed.
  new client.AggregatorRegistry();
  client.AggregatorRegistry.setRegistries([registry]);
}

/** What the cluster primary needs (settings.ts maps it). */
export interface ClusterSettings {
  /** WORKERS (or --workers). */
  workers: number;
  /** HOST and METRICS_PORT: where the summed metrics are served. */
  host: string;
  metricsPort: number;
  /** SHUTDOWN_TIMEOUT_MS: how long a worker takes to drain. */
  shutdownTimeoutMs: number;
}

/**
 * `serve --workers N`: N copies of the server share one port (node:cluster hands connections out round-robin).
 * This primary never touches Cassandra. It restarts a worker that dies, passes SIGTERM/SIGINT on and waits for
 * the workers to drain, and serves all workers' metrics summed on METRICS_PORT: a scrape of the shared port
 * would reach one worker only.
 */
export async function supervise(settings: ClusterSettings, log: Logger): Promise<number> {
  const { workers } = settings;
  const aggregator = new client.AggregatorRegistry();
  const metrics = http.createServer((_req, res) => {
    aggregator.clusterMetrics().then(
      (body) => res.writeHead(200, { 'content-type': aggregator.contentType }).end(body),
      (err: Error) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve) => metrics.listen(settings.metricsPort, settings.host, resolve));

  let stopping = false;
  const indexOf = new Map<Worker, number>();
  const fork = (index: number) => {
    indexOf.set(cluster.fork({ EPHEMERA_WORKER_INDEX: String(index) }), index);
  };
  cluster.on('exit', (worker, code, signal) => {
    const index = indexOf.get(worker) ?? 0;
    indexOf.delete(worker);
    if (stopping) return;
    // A delay, so a worker that cannot start does not turn into a fork loop.
    log.error({ worker: index, pid: worker.process.pid, code, signal }, 'worker exited; starting another in 1 s');
    setTimeout(() => { if (!stopping) fork(index); }, 1000);
  });
  for (let i = 0; i < workers; i++) fork(i);
  log.info({ workers, metricsPort: settings.metricsPort }, 'cluster primary started');

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  stopping = true;
  log.info({ signal }, 'stopping workers');
  const running = [...indexOf.keys()].filter((w) => !w.isDead());
  const exited = Promise.all(running.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  for (const w of running) w.process.kill('SIGTERM');
  // Workers bound their own shutdown; this only catches one that hangs anyway.
  const killer = setTimeout(() => { for (const w of running) if (!w.isDead()) w.process.kill('SIGKILL'); },
    settings.shutdownTimeoutMs + 15_000).unref();
  await exited;
  clearTimeout(killer);
  metrics.close();
  log.info('cluster stopped');
  return 0;
}
