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

/** One OpenSearch client from the configuration: the searcher's and indexer's, and the fast path's own. */
function openSearchClient(config: Config): OpenSearchClient {
  return new OpenSearchClient({
    url: config.OPENSEARCH_URL,
    username: config.OPENSEARCH_USERNAME,
    password: config.OPENSEARCH_PASSWORD,
    timeoutMs: config.OPENSEARCH_REQUEST_TIMEOUT_MS,
    bulkTimeoutMs: config.OPENSEARCH_BULK_TIMEOUT_MS,
  });
}

export function createSearch(config: Config, log: Logger): Search {
  const client = openSearchClient(config);
  const alias = messagesAlias(config.OPENSEARCH_INDEX_PREFIX);
  return {
    client,
    indexer: new MessageIndexer(client, alias, log),
    searcher: new MessageSearcher(client, alias, config.SEARCH_QUERY_MAX_CHARS, config.CHAT_MAX_BODY_BYTES),
    migrate: () => migrateSearch(client, {
      prefix: config.OPENSEARCH_INDEX_PREFIX, shards: config.OPENSEARCH_SHARDS, replicas: config.OPENSEARCH_REPLICAS,
      refreshIntervalMs: config.OPENSEARCH_REFRESH_INTERVAL_MS,
    }, log),
  };
}

/**
 * The API process's fast path (SEARCH_FAST_INDEX), or null when off. Its fresh lane's bulks (≤ 100 changes) get
 * OPENSEARCH_REQUEST_TIMEOUT_MS (2 s), not the bulk timeout (30 s): an OpenSearch that stopped answering is
 * noticed within seconds and the fast path probes for its return. The backlog's bulks (≤ 1,000 changes) get the
 * bulk timeout: on a busy node they take seconds, and giving up on one wastes what OpenSearch did of it.
 */
export function createFastIndexer(config: Config, log: Logger): FastIndexer | null {
  if (!config.SEARCH_FAST_INDEX) return null;
  const client = openSearchClient(config);
  const alias = messagesAlias(config.OPENSEARCH_INDEX_PREFIX);
  return new FastIndexer(new MessageIndexer(client, alias, log, config.OPENSEARCH_REQUEST_TIMEOUT_MS), {
    maxQueue: config.SEARCH_FAST_INDEX_QUEUE, lingerMs: config.SEARCH_FAST_INDEX_LINGER_MS,
  }, log, new MessageIndexer(client, alias, log));
}
