/**
 * Search index numbers against the local OpenSearch (make bench-search):
 *   1. bulk indexing throughput (documents/s) of MESSAGES messages spread over chats of a few tokens,
 *   2. freshness: a message applied without refresh, then polled every 50 ms until a search finds it
 *      (the index's 1 s refresh_interval bounds it), while a background writer keeps RATE messages/s going,
 *   3. search latency of random 1-4 character substrings within one chat.
 * It uses its own index prefix and drops it at the end.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createSearch } from '../../src/search/search.js';
import { searchSettings } from '../../src/settings.js';
import { dropSearchIndices } from '../../src/search/migrate-search.js';
import type { MessageDoc } from '../../src/search/documents.js';
import { stats } from './measure.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MESSAGES = arg('messages', 20_000);
const PROBES = arg('probes', 100);
const RATE = arg('rate', 50);
const SEARCHES = arg('searches', 500);
const CHATS = 50;

const WORDS = ['hello', 'world', 'Ärger', 'straße', 'meeting', 'lunch', 'ok', 'see you', 'later', 'ΟΔΟΣ', '😀', 'why?',
  'tomorrow', 'the', 'report', 'deadline', 'call me', 'shell', 'yes', 'no'];
const pick = <T>(a: T[]) => a[Math.floor(Math.random() * a.length)]!;
const body = () => Array.from({ length: 3 + Math.floor(Math.random() * 12) }, () => pick(WORDS)).join(' ');

const prefix = `bench_search_${randomUUID().slice(0, 8)}`;
const log = createLogger('warn', 'bench-search');
const search = createSearch(searchSettings(loadConfig({ ...process.env, OPENSEARCH_INDEX_PREFIX: prefix })), log);
const tokens = Array.from({ length: 5 }, () => `bench-${randomUUID().slice(0, 8)}`);
const numbers = new Map<string, number>();
const next = (token: string, chat: number) => {
  const k = `${token}:${chat}`;
  const n = (numbers.get(k) ?? 0) + 1;
  numbers.set(k, n);
  return n;
};
const doc = (token = pick(tokens), chat = 1 + Math.floor(Math.random() * CHATS), text = body()): MessageDoc =>
  ({ token, chat, number: next(token, chat), body: text, version: 1, created_at: new Date(), updated_at: new Date() });

async function bulkThroughput() {
  const t0 = performance.now();
  for (let i = 0; i < MESSAGES; i += 1000) {
    await search.indexer.indexMessages(Array.from({ length: Math.min(1000, MESSAGES - i) }, () => doc()));
  }
  const seconds = (performance.now() - t0) / 1000;
  return { messages: MESSAGES, seconds: Math.round(seconds * 100) / 100, docs_per_second: Math.round(MESSAGES / seconds) };
}

async function freshness() {
  let writing = true;
  const writer = (async () => {
    while (writing) {
      const t = performance.now();
      await search.indexer.indexMessages(Array.from({ length: Math.max(1, Math.round(RATE / 10)) }, () => doc()));
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (performance.now() - t))));
    }
  })();
  const samples: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const marker = `probe${randomUUID().slice(0, 8)}`;
    const d = doc(tokens[0], 1, `${body()} ${marker}`);
    const t0 = performance.now();
    await search.indexer.indexMessages([d]);
    for (;;) {
      const page = await search.searcher.searchMessages({ token: d.token, chat: 1, q: marker, limit: 1 });
      if (page.messages.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    samples.push(performance.now() - t0);
  }
  writing = false;
  await writer;
  return stats(samples, 0, samples.reduce((a, b) => a + b, 0) / 1000).ms;
}

async function searchLatency() {
  await search.client.request('refresh', 'POST', '/_refresh');
  const samples: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < SEARCHES; i++) {
    const w = pick(WORDS);
    const start = Math.floor(Math.random() * w.length);
    const q = [...w].slice(start, start + 1 + Math.floor(Math.random() * 4)).join('') || w;
    const t = performance.now();
    await search.searcher.searchMessages({ token: pick(tokens), chat: 1 + Math.floor(Math.random() * CHATS), q, limit: 50 });
    samples.push(performance.now() - t);
  }
  return stats(samples, 0, (performance.now() - t0) / 1000);
}

try {
  await dropSearchIndices(search.client, prefix);
  await search.migrate();
  const bulk = await bulkThroughput();
  console.log('bulk indexing', JSON.stringify(bulk));
  const fresh = await freshness();
  console.log(`freshness (apply -> found by search, ${PROBES} probes, ${RATE} msg/s background)`, JSON.stringify(fresh));
  const lat = await searchLatency();
  console.log(`search latency (${SEARCHES} searches, ${MESSAGES + PROBES} messages, ${tokens.length * CHATS} chats)`, JSON.stringify(lat));
} finally {
  await dropSearchIndices(search.client, prefix);
}
