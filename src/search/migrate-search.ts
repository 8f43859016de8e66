import type { Logger } from '../logger.js';
import type { OpenSearchClient } from './opensearch-client.js';
import { CURRENT_SEARCH_VERSION, SEARCH_INDEX_VERSIONS, messagesAlias, messagesIndex } from './index-schema.js';

export interface SearchIndexSettings {
  prefix: string;
  shards: number;
  replicas: number;
  /** How often new documents become searchable; dynamic, so it is set on an existing index too. */
  refreshIntervalMs: number;
}

interface AliasInfo { [index: string]: { aliases: Record<string, unknown> } }

/**
 * Creates the current version's index if missing and points the alias at it; safe to run from every pod at once
 * (a concurrent create answers resource_already_exists, and the alias swap is one atomic _aliases call).
 */
export async function migrateSearch(client: OpenSearchClient, settings: SearchIndexSettings, log: Logger):
  Promise<{ index: string; created: boolean; version: number }> {
  const current = SEARCH_INDEX_VERSIONS.find((v) => v.version === CURRENT_SEARCH_VERSION)!;
  const index = messagesIndex(settings.prefix);
  const alias = messagesAlias(settings.prefix);
  const exists = await client.request('index_exists', 'HEAD', `/${index}`, undefined, { accept: [404] });
  let created = false;
  if (exists.status === 404) {
    const res = await client.request<{ error?: { type?: string } }>('create_index', 'PUT', `/${index}`, {
      settings: { number_of_shards: settings.shards, number_of_replicas: settings.replicas,
        refresh_interval: `${settings.refreshIntervalMs}ms`, ...current.settings },
      mappings: current.mappings,
    }, { accept: [400] });
    if (res.status === 400 && res.body.error?.type !== 'resource_already_exists_exception') {
      throw new Error(`creating search index ${index} failed: ${JSON.stringify(res.body.error)}`);
    }
    created = res.status === 200;
    if (created) log.info({ index, version: current.version }, 'created search index');
  }
  const aliased = await client.request<AliasInfo>('get_alias', 'GET', `/_alias/${alias}`, undefined, { accept: [404] });
  const holders = aliased.status === 404 ? [] : Object.keys(aliased.body);
  if (holders.length !== 1 || holders[0] !== index) {
    const actions: unknown[] = holders.filter((h) => h !== index).map((h) => ({ remove: { index: h, alias } }));
    actions.push({ add: { index, alias, is_write_index: true } });
    await client.request('update_aliases', 'POST', '/_aliases', { actions });
    log.info({ alias, index, previous: holders }, 'search alias points at the current index');
  }
  if (!created) {
    await client.request('put_settings', 'PUT', `/${index}/_settings`,
      { index: { refresh_interval: `${settings.refreshIntervalMs}ms` } });
  }
  return { index, created, version: current.version };
}

/** Drops every index and alias of a prefix (tests, `search-reset`-like clean-ups). */
export async function dropSearchIndices(client: OpenSearchClient, prefix: string): Promise<void> {
  await client.request('delete_index', 'DELETE', `/${prefix}-messages-v*`, undefined, { accept: [404] });
}
