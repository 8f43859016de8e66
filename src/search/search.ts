import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { FastIndexer } from './fast-indexer.js';
import { MessageIndexer } from './message-indexer.js';
import { MessageSearcher } from './message-searcher.js';
import { migrateSearch } from './migrate-search.js';
import { messagesAlias } from './index-schema.js';
import { OpenSearchClient } from './opensearch-client.js';

/** Everything search needs, built from the configuration: one client, the indexer and the searcher. */
export interface Search {
  client: OpenSearchClient;
  indexer: MessageIndexer;
  searcher: MessageSearcher;
  /** Creates/aliases the current index version (idempotent). */
  migrate(): ReturnType<typeof migrateSearch>;
}

export function createSearch(config: Config, log: Logger): Search {
  const client = new OpenSearchClient({
    url: config.OPENSEARCH_URL,
    username: config.OPENSEARCH_USERNAME,
    password: config.OPENSEARCH_PASSWORD,
    timeoutMs: config.OPENSEARCH_REQUEST_TIMEOUT_MS,
    bulkTimeoutMs: config.OPENSEARCH_BULK_TIMEOUT_MS,
  });
  const alias = messagesAlias(config.OPENSEARCH_INDEX_PREFIX);
  return {
    client,
    indexer: new MessageIndexer(client, alias, log),
    searcher: new MessageSearcher(client, alias, config.SEARCH_QUERY_MAX_CHARS),
    migrate: () => migrateSearch(client, {
      prefix: config.OPENSEARCH_INDEX_PREFIX, shards: config.OPENSEARCH_SHARDS, replicas: config.OPENSEARCH_REPLICAS,
      refreshIntervalMs: config.OPENSEARCH_REFRESH_INTERVAL_MS,
    }, log),
  };
}

/**
 * The API process's fast path (SEARCH_FAST_INDEX), or null when off. Its own client: a bulk gets
 * OPENSEARCH_REQUEST_TIMEOUT_MS (2 s), not the bulk timeout (30 s), so a slow OpenSearch makes the fast path
 * shed to the change log within seconds instead of filling its queue.
 */
export function createFastIndexer(config: Config, log: Logger): FastIndexer | null {
  if (!config.SEARCH_FAST_INDEX) return null;
  const client = new OpenSearchClient({
    url: config.OPENSEARCH_URL,
    username: config.OPENSEARCH_USERNAME,
    password: config.OPENSEARCH_PASSWORD,
    timeoutMs: config.OPENSEARCH_REQUEST_TIMEOUT_MS,
    bulkTimeoutMs: config.OPENSEARCH_REQUEST_TIMEOUT_MS,
  });
  const indexer = new MessageIndexer(client, messagesAlias(config.OPENSEARCH_INDEX_PREFIX), log);
  return new FastIndexer(indexer, {
    maxQueue: config.SEARCH_FAST_INDEX_QUEUE, lingerMs: config.SEARCH_FAST_INDEX_LINGER_MS,
  }, log);
}
