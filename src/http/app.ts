import Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from '../logger.js';
import { errorHandler } from './error-handler.js';
import { requestContext } from './request-context.js';

/**
 * Assembles the Koa application: context/metrics outermost, then the central error handler, then routes.
 * `storageDeadlineMs`: how long a request's statements may take from its first (none when undefined).
 */
export function createApp(log: Logger, routers: Router[], guards: Koa.Middleware[] = [], storageDeadlineMs?: number): Koa {
  const app = new Koa({ proxy: true });
  // The client is the rightmost X-Forwarded-For entry, the one the nearest proxy (the ingress) wrote: entries left
  // of it are whatever the client sent, and the per-client limits (rate-limit.ts) must not be evaded by sending more.
  app.maxIpsCount = 1;
  app.silent = true; // errors are logged by errorHandler, once
  app.use(requestContext(log, storageDeadlineMs));
  app.use(errorHandler(log));
  for (const g of guards) app.use(g);
  for (const r of routers) {
    app.use(r.routes());
    // Not thrown: the router then sets Allow on its 405/501 (it omits it when throwing), and errorHandler
    // turns the empty answer into the JSON error envelope.
    app.use(r.allowedMethods());
  }
  return app;
}
