import http from 'node:http';
import type { Logger } from '../logger.js';
import { collectDefaultMetrics, registry } from '../observability/metrics.js';

/** Where a worker process listens: HOST, and METRICS_PORT or PORT when that is 0 (settings.ts). */
export interface WorkerMetricsSettings { host: string; port: number }

/** A worker process's own /metrics (its lag and runs) and /healthz. */
export function serveWorkerMetrics(settings: WorkerMetricsSettings, log: Logger, what: string): http.Server {
  collectDefaultMetrics();
  const { host, port } = settings;
  return http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void registry.metrics().then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body));
  }).listen(port, host, () => log.info({ port }, `${what} metrics listening`));
}
