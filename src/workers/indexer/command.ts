import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Db } from '../../storage/cassandra.js';
import { withDb } from '../../storage/with-db.js';
import { createSearch, type Search } from '../../search/search.js';
import { cassandraSettings, indexerProcessSettings, searchSettings, workerProcessSettings } from '../../settings.js';
import { SearchIndexerWorker } from './indexer-worker.js';
import { indexerPass, startIndexerLoop, type IndexerProcessSettings } from './run.js';
import { messagesFromCassandra } from './reindex-source.js';
import { runWorkerProcess } from '../worker-process.js';
import { SearchReconciler } from './search-reconcile.js';
import { skewGate } from '../skew-gate.js';

/**
 * `serve --index-every` (local runs) and `ephemera index`: the indexer loop, paused while the clock is out of
 * bounds, with the search reconciliation every SEARCH_RECONCILE_SECONDS.
 */
export function startIndexer(db: Db, settings: IndexerProcessSettings, log: Logger, everySeconds: number, search?: Search) {
  const s = search ?? createSearch(settings.search, log);
  const worker = new SearchIndexerWorker(db, s.indexer, settings.worker, log, () => s.migrate());
  return startIndexerLoop(worker, settings.worker.consumer, log, everySeconds, {
    gate: skewGate(db, settings.worker.maxClockSkewMs, 'indexer', log).start(),
    reconcile: { reconciler: new SearchReconciler(db, s, settings.reconcile, log), everySeconds: settings.reconcileSeconds },
  });
}

/**
 * `ephemera index`: the indexer as its own process (the chart's Deployment), or one pass with --once. Like every
 * command, a root: it takes the whole Config from cli.ts and maps it at once (settings.ts).
 */
export function indexCommand(config: Config, log: Logger, opts: { every: number; once: boolean }): Promise<number> {
  const settings = indexerProcessSettings(config);
  return runWorkerProcess(workerProcessSettings(config), log, 'search indexer', {
    async once(db) {
      const search = createSearch(settings.search, log);
      const worker = new SearchIndexerWorker(db, search.indexer, settings.worker, log, () => search.migrate());
      if (!(await skewGate(db, settings.worker.maxClockSkewMs, 'indexer', log).open())) return 1;
      return (await indexerPass(worker, settings.worker.consumer, log)) === 'success' ? 0 : 1;
    },
    start: (db) => startIndexer(db, settings, log, opts.every),
  }, opts.once);
}

/** `ephemera reindex [--token T]`: every message of one application, or of all, from Cassandra into the index. */
export async function reindexCommand(config: Config, log: Logger, opts: { token?: string }): Promise<number> {
  try {
    return await withDb(cassandraSettings(config), log, async (db) => {
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
