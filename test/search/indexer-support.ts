/* eslint-disable @typescript-eslint/no-explicit-any -- replies are arbitrary JSON, asserted field by field */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { call } from '../chats/support.js';
import { log, testConfig } from '../support/harness.js';
import { Db } from '../../src/storage/cassandra.js';
import { createSearch, type Search } from '../../src/search/search.js';
import { indexerSettings, searchSettings } from '../../src/settings.js';
import { SearchIndexerWorker } from '../../src/workers/indexer/indexer-worker.js';

/**
 * The indexer suites: their own index prefix (`indexer_test_*`, so never `make run`'s or another suite's), hence
 * their own change-log consumer (its name carries the prefix) on the test keyspaces.
 */
export const indexerPrefix = () => `${process.env.TEST_SEARCH_PREFIX ?? 'indexer_test'}_${randomUUID().slice(0, 8)}`;

/** What the service and `ephemera index` children of a suite get: its index, a short lock TTL (2 s) after SIGKILL. */
export const indexerEnv = (prefix: string): Record<string, string> => ({
  OPENSEARCH_INDEX_PREFIX: prefix, SEARCH_INDEXER_LOCK_TTL_SECONDS: '2',
});

/**
 * An indexer in the test process, with the product's lock TTL (30 s): nothing here is SIGKILLed, and a 2 s lease
 * lapsed between two renewals on a busy CI machine (a pass stalled > 2 s; LockLost failed derived-faults once).
 */
export function indexerWorker(db: Db, prefix: string, overrides: Record<string, string> = {}): { worker: SearchIndexerWorker; search: Search; consumer: string } {
  const config = testConfig({ OPENSEARCH_INDEX_PREFIX: prefix, ...overrides });
  const search = createSearch(searchSettings(config), log);
  const settings = indexerSettings(config);
  return { worker: new SearchIndexerWorker(db, search.indexer, settings, log), search, consumer: settings.consumer };
}

/** A TCP port nothing listens on (bound, then closed): OpenSearch "down" without stopping the shared node. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Every match of q in a chat, through the HTTP API, following rel=next. */
export async function searchAll(url: string, token: string, chat: number, q: string, limit = 500): Promise<any[]> {
  const out: any[] = [];
  let next: string | null = `/applications/${token}/chats/${chat}/messages/search?q=${encodeURIComponent(q)}&limit=${limit}`;
  while (next) {
    const r: { status: number; body: any; headers: Headers } = await call(url, 'GET', next);
    if (r.status !== 200) throw new Error(`search answered ${r.status}: ${JSON.stringify(r.body)}`);
    out.push(...r.body);
    next = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get('link') ?? '')?.[1] ?? null;
  }
  return out;
}

/** Polls until `done` holds (indexing is asynchronous: a change is walked once its 10 s bucket settled, 5 s later). */
export { eventually } from '../support/eventually.js';
