/**
 * Versioned layouts of the message search index, like the CQL migrations: never edit a released version, add
 * the next one. Each version is its own index (`<prefix>-messages-v<N>`); readers and writers use the alias
 * `<prefix>-messages`, which migrateSearch() points at the newest version. A new version starts empty: fill it
 * with `reindex` from Cassandra, then move the alias (older indices are kept for a rollback and dropped by hand).
 */
export interface SearchIndexVersion {
  version: number;
  name: string;
  /** Settings beyond shards/replicas, which come from the configuration. */
  settings: Record<string, unknown>;
  mappings: Record<string, unknown>;
}

export const SEARCH_INDEX_VERSIONS: readonly SearchIndexVersion[] = [
  {
    version: 1,
    name: 'messages wildcard body',
    settings: {},
    mappings: {
      // A typo in a field name must fail loudly, not create a field nobody queries.
      dynamic: 'strict',
      _meta: { ephemera_search_version: 1 },
      properties: {
        token: { type: 'keyword' },
        chat: { type: 'long' },
        number: { type: 'long' },
        // Returned from _source only; never queried, so not indexed.
        body: { type: 'text', index: false },
        // foldText(body). The wildcard field (OpenSearch >= 2.15) indexes 3-grams of the value and verifies every
        // candidate against the value itself, so `*q*` is an exact substring match, even for 1-2 characters.
        body_folded: { type: 'wildcard' },
        version: { type: 'long' },
        // Tombstones keep a deleted message's version, so a late upsert with an older version stays refused
        // (a real delete would be forgotten after index.gc_deletes, 60 s).
        deleted: { type: 'boolean' },
        created_at: { type: 'date' },
        updated_at: { type: 'date' },
      },
    },
  },
];

export const CURRENT_SEARCH_VERSION = SEARCH_INDEX_VERSIONS[SEARCH_INDEX_VERSIONS.length - 1]!.version;

export const messagesAlias = (prefix: string) => `${prefix}-messages`;
export const messagesIndex = (prefix: string, version = CURRENT_SEARCH_VERSION) => `${prefix}-messages-v${version}`;
