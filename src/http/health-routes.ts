import Router from '@koa/router';
import { registry } from '../observability/metrics.js';

export interface ReadinessProbe { (): Promise<{ ready: boolean; checks: Record<string, string> }> }

/** Liveness (the process answers), readiness (it can serve: storage, schema, id lease) and metrics. */
export function healthRoutes(readiness: ReadinessProbe, opts: { metrics: boolean }): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => { ctx.body = { status: 'ok' }; });
  router.get('/readyz', async (ctx) => {
    const { ready, checks } = await readiness();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks };
  });
  if (opts.metrics) {
    router.get('/metrics', async (ctx) => {
      ctx.type = registry.contentType;
      ctx.body = await registry.metrics();
    });
  }
  return router;
}
