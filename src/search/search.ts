import type { Logger } from '../logger.js';
import { FastIndexer, type FastIndexOptions } from './fast-indexer.js';
import { MessageIndexer } from './message-indexer.js';
import { MessageSearcher } from './message-searcher.js';
import { migrateSearch, type SearchIndexSettings } from './migrate-search.js';
import { messagesAlias } from './index-schema.js';
import { OpenSearchClient, type OpenSearchOptions } from './opensearch-client.js';

/** The part of the configuration search uses (built by searchSettings in src/settings.ts). */
export interface SearchSettings {
  openSearch: OpenSearchOptions;
  /** The index (OPENSEARCH_INDEX_PREFIX names its alias) and how migrateSearch creates it. */
  index: SearchIndexSettings;
  /** SEARCH_QUERY_MAX_CHARS. */
  queryMaxChars: number;
  /** CHAT_MAX_BODY_BYTES: how many hits fit a search page (message-searcher.ts). */
  maxBodyBytes: number;
  /** The API process's fast path (SEARCH_FAST_INDEX), null when off. */
  fastIndex: FastIndexOptions | null;
}

/** Everything search needs, built from its settings: one client, the indexer and the searcher. */
export interface Search {
  client: OpenSearchClient;
  indexer: MessageIndexer;
  searcher: MessageSearcher;
  /** Creates/aliases the current index version (idempotent). */
  migrate(): ReturnType<typeof migrateSearch>;
}

export function createSearch(settings: SearchSettings, log: Logger): Search {
  const client = new OpenSearchClient(settings.openSearch);
  const alias = messagesAlias(settings.index.prefix);
  return {
    client,
    indexer: new MessageIndexer(client, alias, log),
    searcher: new MessageSearcher(client, alias, settings.queryMaxChars, settings.maxBodyBytes),
    migrate: () => migrateSearch(client, settings.index, log),
  };
}

/**
 * The API process's fast path (SEARCH_FAST_INDEX), or null when off. Its fresh lane's bulks (≤ 100 changes) get
 * OPENSEARCH_REQUEST_TIMEOUT_MS (2 s), not the bulk timeout (30 s): an OpenSearch that stopped answering is
 * noticed within seconds and the fast path probes for its return. The backlog's bulks (≤ 1,000 changes) get the
 * bulk timeout: on a busy node they take seconds, and giving up on one wastes what OpenSearch did of it.
 */
export function createFastIndexer(settings: SearchSettings, log: Logger): FastIndexer | null {
  if (!settings.fastIndex) return null;
  // Its own client (and sockets), not the searcher's.
  const client = new OpenSearchClient(settings.openSearch);
  const alias = messagesAlias(settings.index.prefix);
  return new FastIndexer(new MessageIndexer(client, alias, log, settings.openSearch.timeoutMs), settings.fastIndex,
    log, new MessageIndexer(client, alias, log));
}
