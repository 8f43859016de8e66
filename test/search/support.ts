import { randomUUID } from 'node:crypto';
import { createSearch, type Search } from '../../src/search/search.js';
import { searchSettings } from '../../src/settings.js';
import { dropSearchIndices } from '../../src/search/migrate-search.js';
import type { MessageDoc } from '../../src/search/documents.js';
import { testConfig, log } from '../support/harness.js';

/**
 * Search tests run against the real OpenSearch of `make search-up` (OPENSEARCH_URL), each suite with its own
 * index prefix (TEST_SEARCH_PREFIX, default search_test) so they never touch `make run` data; indices are
 * dropped before and after.
 */
export const TEST_PREFIX = `${process.env.TEST_SEARCH_PREFIX ?? 'search_test'}_${randomUUID().slice(0, 8)}`;

export function testSearch(overrides: Record<string, string> = {}, prefix = TEST_PREFIX): Search {
  return createSearch(searchSettings(testConfig({ OPENSEARCH_INDEX_PREFIX: prefix, ...overrides })), log);
}

export async function freshIndex(search: Search, prefix = TEST_PREFIX): Promise<void> {
  await dropSearchIndices(search.client, prefix);
  await search.migrate();
}

export const dropIndex = (search: Search, prefix = TEST_PREFIX) => dropSearchIndices(search.client, prefix);

export const uniqueToken = () => `tok-${randomUUID().slice(0, 12)}`;

/** Documents for `bodies`, numbered 1.. in one chat, version 1. */
export const docsOf = (token: string, chat: number, bodies: string[], first = 1): MessageDoc[] =>
  bodies.map((body, i) => ({ token, chat, number: first + i, body, version: 1, created_at: new Date(), updated_at: new Date() }));

/** All matches of q in a chat (one big page), as bodies. */
export async function bodiesMatching(search: Search, token: string, chat: number, q: string): Promise<string[]> {
  const page = await search.searcher.searchMessages({ token, chat, q, limit: 1000 });
  return page.messages.map((m) => m.body);
}
