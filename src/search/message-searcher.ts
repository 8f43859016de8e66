import { badRequest } from '../errors.js';
import { errorReason, type OpenSearchClient } from './opensearch-client.js';
import { containsPattern, foldText, validateQuery } from './fold.js';

export interface SearchRequest {
  token: string;
  chat: number;
  q: unknown;
  /** Only messages with a number above this (the last number of the previous page). */
  after?: number;
  limit: number;
}

export interface SearchHit {
  number: number;
  body: string;
  version: number;
  created_at?: string;
  updated_at?: string;
}

/** A page of matches by number ascending; `next` is the `after` of the following page, null on the last one. */
export interface SearchPage { messages: SearchHit[]; next: number | null }

export const MAX_SEARCH_LIMIT = 1000;

interface Hits { hits: { hits: Array<{ _source: SearchHit }> } }

/** OpenSearch's 400 for a query it cannot build (too many states or clauses) is the caller's; others are bugs. */
function refusal(body: unknown): Error {
  const text = JSON.stringify(body);
  if (/Determinizing automaton|maxClauseCount/.test(text)) {
    return badRequest('invalid_query', 'q is too complex to search for; shorten it');
  }
  return new Error(`OpenSearch refused the search: ${errorReason(body, text)}`);
}

/** Case-insensitive exact substring search within one chat of one application. */
export class MessageSearcher {
  constructor(private readonly client: OpenSearchClient, private readonly alias: string,
    private readonly maxQueryChars: number) {}

  async searchMessages(req: SearchRequest): Promise<SearchPage> {
    const q = validateQuery(req.q, this.maxQueryChars);
    if (!Number.isSafeInteger(req.limit) || req.limit < 1 || req.limit > MAX_SEARCH_LIMIT) {
      throw badRequest('invalid_limit', `limit must be an integer in 1..${MAX_SEARCH_LIMIT}`);
    }
    if (req.after !== undefined && (!Number.isSafeInteger(req.after) || req.after < 0)) {
      throw badRequest('invalid_after', 'after must be a non-negative integer');
    }
    const folded = foldText(q);
    if ([...folded].length > this.maxQueryChars) {
      throw badRequest('invalid_query', `q must be at most ${this.maxQueryChars} characters once case-folded (ß counts as ss)`);
    }
    const filter: unknown[] = [
      { term: { token: req.token } },
      { term: { chat: req.chat } },
      { wildcard: { body_folded: { value: containsPattern(folded) } } },
    ];
    if (req.after !== undefined) filter.push({ range: { number: { gt: req.after } } });
    const res = await this.client.request<Hits>('search', 'POST', `/${this.alias}/_search`, {
      size: req.limit + 1,
      track_total_hits: false,
      _source: ['number', 'body', 'version', 'created_at', 'updated_at'],
      sort: [{ number: 'asc' }],
      query: { bool: { filter, must_not: [{ term: { deleted: true } }] } },
    }, { accept: [400] });
    if (res.status === 400) throw refusal(res.body);
    const hits = res.body.hits.hits.map((h) => h._source);
    const more = hits.length > req.limit;
    const messages = more ? hits.slice(0, req.limit) : hits;
    return { messages, next: more ? messages[messages.length - 1]!.number : null };
  }
}
