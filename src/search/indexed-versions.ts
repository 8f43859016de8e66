import type { OpenSearchClient } from './opensearch-client.js';

interface Hits { hits: { hits: Array<{ _source: { number: number; version: number } }> } }

/**
 * The version the index holds for each message numbered `from`..`to` of one chat, tombstones included (the
 * reconciliation's view of the index). One request: the range is at most one number range of 1,000 messages,
 * and only number and version are returned (~40 bytes a document).
 */
export async function indexedVersions(client: OpenSearchClient, alias: string, token: string, chat: number,
  from: number, to: number): Promise<Map<number, number>> {
  const res = await client.request<Hits>('reconcile_versions', 'POST', `/${alias}/_search`, {
    size: to - from + 1,
    track_total_hits: false,
    _source: ['number', 'version'],
    sort: [{ number: 'asc' }],
    query: { bool: { filter: [{ term: { token } }, { term: { chat } }, { range: { number: { gte: from, lte: to } } }] } },
  });
  return new Map(res.body.hits.hits.map((h) => [h._source.number, h._source.version]));
}
