import http from 'node:http';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { collectDefaultMetrics, registry } from '../observability/metrics.js';

/** A worker process's own /metrics (its lag and runs) and /healthz, on METRICS_PORT, or PORT when that is 0. */
export function serveWorkerMetrics(config: Config, log: Logger, what: string): http.Server {
  collectDefaultMetrics();
  const port = config.METRICS_PORT || config.PORT;
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
  }).listen(port, config.HOST, () => log.info({ port }, `${what} metrics listening`));
}
