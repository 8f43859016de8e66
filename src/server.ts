import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { Db } from './storage/cassandra.js';
import { currentVersion } from './storage/migrator.js';
import { SCHEMA_VERSION } from './storage/schema.js';
import { WriterLease } from './ids/writer-lease.js';
import { ClockSkewCheck } from './storage/clock-skew.js';
import { inboxStores } from './inbox/stores.js';
import { MessageService } from './inbox/message-service.js';
import { createValidators } from './inbox/validation.js';
import { createApp } from './http/app.js';
import { connectionDrain } from './http/connection-drain.js';
import { inboxRoutes } from './http/inbox/routes.js';
import { listAuthorizer } from './http/auth.js';
import { healthRoutes } from './http/health-routes.js';
import { openApiRoutes } from './http/openapi/routes.js';
import { chatsRoutes } from './http/chats/routes.js';
import { searchRoutes } from './http/chats/search-routes.js';
import { createFastIndexer, createSearch } from './search/search.js';
import { createChats } from './chats/module.js';
import {
  cassandraSettings, chatsSettings, inboxRoutesSettings, inboxSettings, inboxValidationSettings, listAuthSettings,
  openApiSettings, requestStorageDeadlineMs, searchSettings,
} from './settings.js';
import { clientRateLimit, routeRateLimit } from './http/rate-limit.js';
import { adminOnly } from './http/admin-auth.js';
import { collectDefaultMetrics, registry } from './observability/metrics.js';

export interface RunningServer {
  port: number;
  url: string;
  db: Db;
  config: Config;
  service: MessageService;
  close(): Promise<void>;
}

/**
 * Wires the layers and starts listening. Storage may be down at start-up: the driver keeps reconnecting and
 * /readyz says 503 until Cassandra answers, the schema is current and an id-writer lease is held.
 * `metrics: false` serves no /metrics at all (a cluster worker: its primary serves the sum).
 */
export async function startServer(config: Config, log: Logger, opts: { metrics?: boolean } = {}): Promise<RunningServer> {
  const exposeMetrics = opts.metrics ?? true;
  collectDefaultMetrics();
  const db = new Db(cassandraSettings(config), log);
  const lease = new WriterLease(db, log, config.WRITER_LEASE_TTL_MS, config.POD_NAME);
  let draining = false;
  let leaseStarted: Promise<void> | null = null;
  const startLease = () => {
    leaseStarted ??= lease.start().catch((err: unknown) => {
      leaseStarted = null;
      log.warn({ err: (err as Error).message }, 'id-writer lease not acquired yet');
    });
    return leaseStarted;
  };
  const clock = new ClockSkewCheck(db, config.MAX_CLOCK_SKEW_MS, log);
  await db.connect().then(() => { clock.start(); return startLease(); }).catch((err: unknown) => {
    log.warn({ err: (err as Error).message }, 'cassandra not reachable at start-up; will keep trying');
  });

  const service = new MessageService(inboxStores(db), lease, inboxSettings(config), log);
  const readiness = async () => {
    const checks: Record<string, string> = {};
    if (draining) checks.server = 'shutting down';
    try {
      const version = await currentVersion(db);
      checks.cassandra = 'ok';
      checks.schema = version === SCHEMA_VERSION ? 'ok' : `at ${version}, expected ${SCHEMA_VERSION}`;
    } catch {
      checks.cassandra = 'unreachable';
    }
    if (checks.cassandra === 'ok' && !clock.ok) await clock.measure().catch(() => undefined);
    checks.clock = clock.status;
    if (!lease.held) {
      checks.writer_lease = 'not held';
      if (checks.cassandra === 'ok') void startLease();
    } else {
      checks.writer_lease = 'ok';
    }
    return { ready: Object.values(checks).every((v) => v === 'ok'), checks };
  };

  const search = createSearch(searchSettings(config), log);
  const fastIndexer = createFastIndexer(searchSettings(config), log);
  const chats = createChats(db, chatsSettings(config), log, fastIndexer?.offer);
  // Refuses to start on a store that would let an object be replaced (CreateOnlyNotEnforced is thrown).
  await chats.bodies.verify();
  if (!config.ADMIN_TOKEN) log.info('ADMIN_TOKEN is not set: GET /applications (every application and token) answers 401 to everyone');
  // One of each for both mounts: an administrator is one on both, and /api/applications is no second allowance.
  const applicationsAccess = {
    adminOnly: adminOnly(config.ADMIN_TOKEN),
    limitCreates: routeRateLimit(config.RATE_LIMIT_APPLICATION_CREATES_PER_MINUTE,
      config.RATE_LIMIT_APPLICATION_CREATES_BURST, 'application creates'),
  };
  // The Rails/Go chat system's field names are accepted on its mount only (docs/api.md, "Chat applications").
  const mounts = [{ prefix: '/applications', aliases: false }, { prefix: '/api/applications', aliases: true }];
  const app = createApp(log, [
    healthRoutes(readiness, { metrics: exposeMetrics && config.METRICS_PORT === 0 }),
    inboxRoutes(service, createValidators(inboxValidationSettings(config)), inboxRoutesSettings(config),
      listAuthorizer(listAuthSettings(config)), log),
    openApiRoutes(openApiSettings(config)),
    // Search first: `/messages/search` must not be taken for `/messages/:message`.
    ...mounts.map((mount) => searchRoutes(chats, search.searcher, mount)),
    ...mounts.map((mount) =>
      chatsRoutes(chats, { ...mount, ...applicationsAccess, maxBodyBytes: config.MAX_BODY_BYTES })),
  ], config.RATE_LIMIT_CLIENT_RPS > 0 ? [clientRateLimit(config.RATE_LIMIT_CLIENT_RPS, config.RATE_LIMIT_BURST_SECONDS)] : [],
  requestStorageDeadlineMs(config));
  const server = http.createServer();
  const drain = connectionDrain(server);
  server.on('request', drain.handler(app.callback()));
  server.requestTimeout = config.REQUEST_TIMEOUT_MS * 2;
  server.headersTimeout = Math.min(config.REQUEST_TIMEOUT_MS, 60_000);
  server.keepAliveTimeout = 65_000;
  server.maxConnections = config.MAX_CONNECTIONS;
  await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, resolve));
  const port = (server.address() as AddressInfo).port;

  let metricsServer: http.Server | null = null;
  if (exposeMetrics && config.METRICS_PORT !== 0) {
    metricsServer = http.createServer((req, res) => {
      void registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': registry.contentType }).end(body);
      });
    }).listen(config.METRICS_PORT, config.HOST);
  }
  log.info({ port, metricsPort: config.METRICS_PORT || port }, 'listening');

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    db,
    config,
    service,
    async close() {
      draining = true;
      // Stop accepting, let in-flight requests finish (their connections close after the answer: connection-drain),
      // then cut whatever is left at the deadline.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      drain.start();
      const timer = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_TIMEOUT_MS).unref();
      await closed;
      clearTimeout(timer);
      metricsServer?.close();
      clock.stop();
      // What the fast path still holds gets 2 s; anything left is indexed by the change log.
      await fastIndexer?.close(2_000);
      // Shutdown must end even when Cassandra is gone: each step gets a deadline.
      await bounded(lease.stop(), 5_000, 'writer lease release', log);
      await bounded(db.shutdown(), 5_000, 'driver shutdown', log);
      log.info('server stopped');
    },
  };
}

async function bounded(work: Promise<void>, ms: number, what: string, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => { log.warn({ what, ms }, 'shutdown step timed out; going on'); resolve(); }, ms);
  });
  await Promise.race([work.catch((err: unknown) => log.warn({ what, err: (err as Error).message }, 'shutdown step failed')), timeout]);
  clearTimeout(timer);
}
