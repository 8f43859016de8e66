#!/usr/bin/env node
import { parseArgs } from 'node:util';
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig, parseWorkers, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { startTracing } from './observability/tracing.js';

const HELP = `ephemera: ephemeral text messages on Cassandra

Usage: ephemera <command> [options]

Commands:
  serve [--archive-every <seconds>] [--counts-every <seconds>] [--index-every <seconds>] [--workers <n>|auto]
        [--sweep-every <seconds>] [--generate-admin-token]
                                      serve the HTTP API on $PORT (default 8080); with --archive-every,
                                      also run the archiver on that timer (local development); with
                                      --counts-every, also the chat counts worker, with --index-every, also
                                      the search indexer, with --sweep-every, also the body sweeper (local
                                      development); with
                                      --workers (or WORKERS), n processes share the port (one per core
                                      with auto) and their summed metrics are on $METRICS_PORT; with
                                      --generate-admin-token (make run), an ADMIN_TOKEN for this run when
                                      none is set, shown in the banner
  migrate                             create keyspaces and apply pending CQL migrations, then create the
                                      current search index version and its alias in OpenSearch (idempotent;
                                      OpenSearch unreachable: a warning, the indexer creates it later)
  archive                             one archiver pass: move timed-out messages from hot to cold storage
                                      exit 0 done, 1 failed, 2 another archiver holds the lock
  counts [--every <seconds>] [--once]
                                      the chat counts worker: walks the change log every --every seconds
                                      (default 5) and reconciles every COUNTS_RECONCILE_SECONDS; --once:
                                      one log pass and one reconciliation, exit 0 done, 1 failed
  index [--every <seconds>] [--once]  the search indexer: applies the change log's message entries to the
                                      OpenSearch index every --every seconds (default 1); --once: one pass,
                                      exit 0 done, 1 failed or OpenSearch unavailable
  reindex [--token <token>]           rebuild the search index of one application (or of all) from Cassandra
  sweep-bodies                        one pass of the message-body sweeper: removes objects no row points to
                                      (older than BODY_ORPHAN_GRACE_SECONDS); exit 0 done, 1 failed

Options:
  -h, --help                          show this help

Configuration comes from the environment (validated at start-up); every variable in docs/configuration.md.
Main variables: PORT, CASSANDRA_CONTACT_POINTS, CASSANDRA_LOCAL_DC, CASSANDRA_HOT_KEYSPACE,
CASSANDRA_COLD_KEYSPACE, CASSANDRA_REPLICATION, CASSANDRA_CONSISTENCY, LOG_LEVEL, HOT_GRACE_SECONDS.
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' }, 'archive-every': { type: 'string' }, workers: { type: 'string' },
      'counts-every': { type: 'string' }, every: { type: 'string' }, once: { type: 'boolean' },
      'index-every': { type: 'string' }, token: { type: 'string' }, 'generate-admin-token': { type: 'boolean' },
      'sweep-every': { type: 'string' },
    },
  });
  const command = positionals[0];
  if (values.help || !command || command === 'help') {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 64;
  }
  // --workers is WORKERS given on the command line: validated as usage here, then as configuration with the rest.
  const env = { ...process.env };
  if (values.workers !== undefined) {
    if (parseWorkers(values.workers) === null) {
      process.stderr.write('ephemera: --workers takes a positive whole number or auto\n');
      return 64;
    }
    env.WORKERS = values.workers;
  }
  // make run: a local administrator token when none is set (cluster workers inherit it through process.env).
  let generatedAdminToken: string | undefined;
  if (command === 'serve' && values['generate-admin-token'] && !env.ADMIN_TOKEN) {
    generatedAdminToken = randomBytes(32).toString('base64url');
    env.ADMIN_TOKEN = process.env.ADMIN_TOKEN = generatedAdminToken;
  }
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ephemera: ${err.message}\n`);
      return 78;
    }
    throw err;
  }
  // Buffered lines only where the per-request access log is: one-shot commands (migrate, archive, counts --once)
  // write few lines, and whoever watches them (a Job's log, a test) sees each at once.
  const log = createLogger(config.LOG_LEVEL, 'ephemera', {
    pretty: process.stdout.isTTY === true, bufferBytes: command === 'serve' ? config.LOG_BUFFER_BYTES : 0,
  });
  switch (command) {
    case 'serve': {
      const every = values['archive-every'] === undefined ? 0 : Number(values['archive-every']);
      const countsEvery = values['counts-every'] === undefined ? 0 : Number(values['counts-every']);
      const indexEvery = values['index-every'] === undefined ? 0 : Number(values['index-every']);
      const sweepEvery = values['sweep-every'] === undefined ? 0 : Number(values['sweep-every']);
      if (![every, countsEvery, indexEvery, sweepEvery].every((n) => Number.isInteger(n) && n >= 0)) {
        process.stderr.write('ephemera: --archive-every, --counts-every, --index-every and --sweep-every take a whole number of seconds\n');
        return 64;
      }
      if (config.WORKERS > 1 && cluster.isPrimary) {
        const { supervise } = await import('./cluster.js');
        const { clusterSettings } = await import('./settings.js');
        return supervise(clusterSettings(config), log);
      }
      return serve(config, log, every, countsEvery, indexEvery, generatedAdminToken, sweepEvery);
    }
    case 'migrate':
      return migrateCommand(config, log);
    case 'archive':
      return archiveCommand(config, log);
    case 'counts': {
      const every = values.every === undefined ? 5 : Number(values.every);
      if (!Number.isInteger(every) || every < 1) {
        process.stderr.write('ephemera: --every takes a whole number of seconds (at least 1)\n');
        return 64;
      }
      const { countsCommand } = await import('./workers/counts/command.js');
      return countsCommand(config, log, { every, once: values.once ?? false });
    }
    case 'index': {
      const every = values.every === undefined ? 1 : Number(values.every);
      if (!Number.isInteger(every) || every < 1) {
        process.stderr.write('ephemera: --every takes a whole number of seconds (at least 1)\n');
        return 64;
      }
      const { indexCommand } = await import('./workers/indexer/command.js');
      return indexCommand(config, log, { every, once: values.once ?? false });
    }
    case 'sweep-bodies': {
      const { sweepCommand } = await import('./workers/sweep-command.js');
      return sweepCommand(config, log);
    }
    case 'reindex': {
      const { reindexCommand } = await import('./workers/indexer/command.js');
      return reindexCommand(config, log, { token: values.token });
    }
    default:
      process.stderr.write(`ephemera: unknown command "${command}"\n\n${HELP}`);
      return 64;
  }
}

async function serve(config: Config, log: Logger, archiveEvery: number, countsEvery = 0, indexEvery = 0,
  generatedAdminToken?: string, sweepEvery = 0): Promise<number> {
  const { workerIndex, joinCluster } = await import('./cluster.js');
  const worker = workerIndex();
  if (worker !== null) joinCluster();
  const tracing = await startTracing(log);
  const { startServer } = await import('./server.js');
  // A worker's own counters are one share of the pod's: only the primary serves metrics.
  const server = await startServer(config, log, { metrics: worker === null });
  if (worker === null && process.stdout.isTTY) {
    const { startupBanner } = await import('./banner.js');
    const { bannerSettings } = await import('./settings.js');
    process.stdout.write(startupBanner(bannerSettings(config), server.port, archiveEvery, generatedAdminToken));
  } else if (worker === null && generatedAdminToken) {
    // Only --generate-admin-token (make run, local) gets here: without a terminal, the log is where it is shown.
    log.info({ adminToken: generatedAdminToken }, 'ADMIN_TOKEN generated for this run (GET /applications)');
  }
  const { archiverSettings, countsProcessSettings, indexerProcessSettings, sweeperSettings } = await import('./settings.js');
  let archiver: { stop(): Promise<void> } | null = null;
  // One archiver loop per cluster is enough (the archiver lock would make a second one wait anyway).
  if (archiveEvery > 0 && (worker === null || worker === 0)) {
    const { runArchiver } = await import('./workers/archiver/run.js');
    const { startLoop } = await import('./workers/loop.js');
    const settings = archiverSettings(config);
    archiver = startLoop(() => runArchiver(server.db, settings, log), archiveEvery);
    log.info({ everySeconds: archiveEvery }, 'archiver timer on');
  }
  let counts: { stop(): Promise<void> } | null = null;
  if (countsEvery > 0 && (worker === null || worker === 0)) {
    const { startCounts } = await import('./workers/counts/command.js');
    counts = startCounts(server.db, countsProcessSettings(config), log, countsEvery);
  }
  let indexer: { stop(): Promise<void> } | null = null;
  if (indexEvery > 0 && (worker === null || worker === 0)) {
    const { startIndexer } = await import('./workers/indexer/command.js');
    indexer = startIndexer(server.db, indexerProcessSettings(config), log, indexEvery);
  }
  let sweeper: { stop(): Promise<void> } | null = null;
  if (sweepEvery > 0 && (worker === null || worker === 0)) {
    const { startSweeper } = await import('./workers/sweeper.js');
    sweeper = startSweeper(server.db, sweeperSettings(config), log, sweepEvery);
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => { log.info({ signal }, 'shutting down'); resolve(); };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await archiver?.stop();
  await counts?.stop();
  await indexer?.stop();
  await sweeper?.stop();
  await server.close();
  await tracing.shutdown();
  return 0;
}

async function migrateCommand(config: Config, log: Logger): Promise<number> {
  const { withDb } = await import('./storage/with-db.js');
  const { migrate } = await import('./storage/migrator.js');
  const { processIdentity } = await import('./process-identity.js');
  const { cassandraSettings, searchSettings } = await import('./settings.js');
  try {
    return await withDb(cassandraSettings(config), log, async (db) => {
      const { applied, version } = await migrate(db, log, processIdentity(config.POD_NAME, 'migrator'));
      log.info({ applied, version }, applied.length ? 'migrations applied' : 'schema already current');
      const { createSearch } = await import('./search/search.js');
      const { AppError } = await import('./errors.js');
      try {
        log.info(await createSearch(searchSettings(config), log).migrate(), 'search index current');
      } catch (err) {
        // Search is not on the path of any other endpoint: an unreachable OpenSearch must not block a deploy. The
        // indexer runs the same migration before its first pass, so the index appears once OpenSearch answers.
        if (!(err instanceof AppError && err.status === 503)) throw err;
        log.warn({ err: err.message }, 'search index not migrated (OpenSearch unavailable); the indexer will create it');
      }
      return 0;
    });
  } catch (err) {
    log.error({ err }, 'migration failed');
    return 1;
  }
}

async function archiveCommand(config: Config, log: Logger): Promise<number> {
  const { withDb } = await import('./storage/with-db.js');
  const { runArchiver } = await import('./workers/archiver/run.js');
  const { archiverSettings, cassandraSettings } = await import('./settings.js');
  try {
    return await withDb(cassandraSettings(config), log, async (db) => {
      const outcome = await runArchiver(db, archiverSettings(config), log, { push: true });
      return outcome === 'success' ? 0 : outcome === 'locked' ? 2 : 1;
    });
  } catch (err) {
    log.error({ err }, 'archiver could not start');
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A worker's IPC channel to the primary would keep it alive.
    if (cluster.isWorker) process.disconnect();
    // Everything was closed in order; a socket the driver failed to release must not keep the process alive.
    setTimeout(() => process.exit(code), 1000).unref();
  },
  (err: unknown) => { process.stderr.write(`ephemera: ${(err as Error).stack ?? String(err)}\n`); process.exitCode = 1; },
);
