import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Db } from '../../storage/cassandra.js';
import { withDb } from '../../storage/with-db.js';
import { processIdentity } from '../../process-identity.js';
import { createSearch, type Search } from '../../search/search.js';
import { searchSettings } from '../../settings.js';
import { indexerConsumer, SearchIndexerWorker, type IndexerSettings } from './indexer-worker.js';
import { indexerPass, startIndexerLoop } from './run.js';
import { messagesFromCassandra } from './reindex-source.js';
import { runWorkerProcess } from '../worker-process.js';
import { SearchReconciler } from './search-reconcile.js';
import { skewGate } from '../skew-gate.js';

/** The configuration the search indexer uses. */
export function indexerSettings(config: Config): IndexerSettings {
  return {
    holder: processIdentity(config.POD_NAME, 'indexer'),
    lockTtlSeconds: config.SEARCH_INDEXER_LOCK_TTL_SECONDS,
    logRetentionSeconds: config.CHAT_LOG_RETENTION_SECONDS,
    maxClockSkewMs: config.MAX_CLOCK_SKEW_MS,
    consumer: indexerConsumer(config.OPENSEARCH_INDEX_PREFIX),
  };
}

export function searchReconciler(db: Db, config: Config, log: Logger, search: Search): SearchReconciler {
  return new SearchReconciler(db, search, {
    holder: processIdentity(config.POD_NAME, 'search-reconcile'), lockTtlSeconds: config.SEARCH_INDEXER_LOCK_TTL_SECONDS,
    indexPrefix: config.OPENSEARCH_INDEX_PREFIX,
  }, log);
}

/**
 * `serve --index-every` (local runs) and `ephemera index`: the indexer loop, paused while the clock is out of
 * bounds, with the search reconciliation every SEARCH_RECONCILE_SECONDS.
 */
export function startIndexer(db: Db, config: Config, log: Logger, everySeconds: number, search?: Search) {
  const settings = indexerSettings(config);
  const s = search ?? createSearch(searchSettings(config), log);
  const worker = new SearchIndexerWorker(db, s.indexer, settings, log, () => s.migrate());
  return startIndexerLoop(worker, settings.consumer, log, everySeconds, {
    gate: skewGate(db, config.MAX_CLOCK_SKEW_MS, 'indexer', log).start(),
    reconcile: { reconciler: searchReconciler(db, config, log, s), everySeconds: config.SEARCH_RECONCILE_SECONDS },
  });
}

/** `ephemera index`: the indexer as its own process (the chart's Deployment), or one pass with --once. */
export function indexCommand(config: Config, log: Logger, opts: { every: number; once: boolean }): Promise<number> {
  return runWorkerProcess(config, log, 'search indexer', {
    async once(db) {
      const settings = indexerSettings(config);
      const search = createSearch(searchSettings(config), log);
      const worker = new SearchIndexerWorker(db, search.indexer, settings, log, () => search.migrate());
      if (!(await skewGate(db, config.MAX_CLOCK_SKEW_MS, 'indexer', log).open())) return 1;
      return (await indexerPass(worker, settings.consumer, log)) === 'success' ? 0 : 1;
    },
    start: (db) => startIndexer(db, config, log, opts.every),
  }, opts.once);
}

/** `ephemera reindex [--token T]`: every message of one application, or of all, from Cassandra into the index. */
export async function reindexCommand(config: Config, log: Logger, opts: { token?: string }): Promise<number> {
  try {
    return await withDb(config, log, async (db) => {
      const search = createSearch(searchSettings(config), log);
      await search.migrate();
      const started = Date.now();
      const result = await search.indexer.reindex(messagesFromCassandra(db, opts.token));
      log.info({ token: opts.token ?? 'all', written: result.written, unchanged: result.stale,
        failed: result.failed.length, durationMs: Date.now() - started }, 'reindex done');
      return result.failed.length === 0 ? 0 : 1;
    });
  } catch (err) {
    log.error({ err: (err as Error).message }, 'reindex failed');
    return 1;
  }
}
