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

interface MgetDocs { docs: Array<{ _id: string; found?: boolean; _version?: number }> }
/** Ids per _mget: ~60 bytes of answer each. */
const MGET_IDS = 1_000;

/**
 * The version the index holds for each of these document ids (absent: no document), as of its last refresh
 * (`realtime=false`: a realtime get of a document changed since the last refresh would force one). Tombstones
 * count: they hold the delete's version.
 */
export async function heldVersions(client: OpenSearchClient, alias: string, ids: string[]): Promise<Map<string, number>> {
  const held = new Map<string, number>();
  for (let i = 0; i < ids.length; i += MGET_IDS) {
    const res = await client.request<MgetDocs>('held_versions', 'POST', `/${alias}/_mget?realtime=false&_source=false`,
      { ids: ids.slice(i, i + MGET_IDS) });
    for (const d of res.body.docs) if (d.found && d._version !== undefined) held.set(d._id, d._version);
  }
  return held;
}
