import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../logger.js';
import { withCoordinators } from '../storage/coordinators.js';
import { withStorageDeadline } from '../storage/request-deadline.js';
import { httpDuration, httpInFlight, httpRequests } from '../observability/metrics.js';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Outermost middleware: request id, security headers, RED metrics labelled by route template (never the raw
 * path, so label cardinality stays bounded), one JSON access-log line per request without message text, and the
 * request's storage deadline (storage/request-deadline.ts) when one is given.
 */
export function requestContext(log: Logger, storageDeadlineMs?: number) {
  return async function observe(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('x-request-id');
    ctx.state.reqId = /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('x-request-id', ctx.state.reqId);
    ctx.set(SECURITY_HEADERS);
    httpInFlight.inc();
    const db = withCoordinators(storageDeadlineMs === undefined ? next : () => withStorageDeadline(storageDeadlineMs, next));
    try {
      await db.done;
    } finally {
      httpInFlight.dec();
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const labels = { route: String(route), method: ctx.method, status: String(ctx.status) };
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
      if (!QUIET_ROUTES.has(labels.route) || ctx.status >= 400) {
        log.info({ reqId: ctx.state.reqId, method: ctx.method, route: labels.route, status: ctx.status,
          ms: Math.round(seconds * 1e4) / 10, ...(db.hosts.size > 0 ? { db: [...db.hosts] } : {}) }, 'request');
      }
    }
  };
}
