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

/**
 * Bytes of bodies one search page carries at most: 4 MiB, the chat pages' bound (64 bodies of 64 KiB, against
 * 1,001 × 64 KiB = 64 MiB per request before).
 */
export const MAX_SEARCH_PAGE_BYTES = 4 * 1024 * 1024;

/** Case-insensitive exact substring search within one chat of one application. */
export class MessageSearcher {
  /** Hits asked of OpenSearch per round: as many as fit MAX_SEARCH_PAGE_BYTES at the largest body size. */
  private readonly chunk: number;

  constructor(private readonly client: OpenSearchClient, private readonly alias: string,
    private readonly maxQueryChars: number, maxBodyBytes = 64 * 1024) {
    this.chunk = Math.max(1, Math.floor(MAX_SEARCH_PAGE_BYTES / maxBodyBytes));
  }

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
    // Rounds of at most `chunk` hits (plus one to see whether more follow) until the page has `limit` hits or
    // MAX_SEARCH_PAGE_BYTES of bodies: memory stays bounded by bytes whatever the bodies' sizes.
    const messages: SearchHit[] = [];
    let bytes = 0;
    for (let after = req.after; ;) {
      const want = Math.min(req.limit - messages.length, this.chunk);
      const hits = await this.round(filter, after, want + 1);
      for (const hit of hits.slice(0, want)) {
        messages.push(hit);
        bytes += Buffer.byteLength(hit.body);
      }
      if (hits.length <= want) return { messages, next: null };
      after = messages[messages.length - 1]!.number;
      if (messages.length >= req.limit || bytes >= MAX_SEARCH_PAGE_BYTES) return { messages, next: after };
    }
  }

  /** Up to `size` matches numbered above `after`, by number. */
  private async round(filter: unknown[], after: number | undefined, size: number): Promise<SearchHit[]> {
    const res = await this.client.request<Hits>('search', 'POST', `/${this.alias}/_search`, {
      size,
      track_total_hits: false,
      _source: ['number', 'body', 'version', 'created_at', 'updated_at'],
      sort: [{ number: 'asc' }],
      query: { bool: { filter: after === undefined ? filter : [...filter, { range: { number: { gt: after } } }],
        must_not: [{ term: { deleted: true } }] } },
    }, { accept: [400] });
    if (res.status === 400) throw refusal(res.body);
    return res.body.hits.hits.map((h) => h._source);
  }
}
