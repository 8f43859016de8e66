/**
 * vegeta targets on the chat-applications API (TARGETS=chat-create|chat-list|chat-search): one application with
 * one hot chat, seeded with SEED_IDS messages before the attack, then every request goes to that one chat:
 *
 *   chat-create  POST .../chats/:n/messages: every create claims a number from the same counter row (the
 *                coalesced numbering's worst case: one partition, one LWT stream);
 *   chat-list    GET .../chats/:n/messages?after=<random seeded number>&limit=50: one page from anywhere;
 *   chat-search  GET .../chats/:n/messages/search?q=<a fragment of a seeded word>&limit=20: partial match on
 *                OpenSearch. The seeding waits until the chat's messages are searchable (the service's indexer
 *                must run: `make run` or `serve --index-every 1`).
 */
import type { LoadConfig } from './config.js';

export const WORDS = ('meeting lunch tomorrow review deploy rollback incident coffee standup release café naïve über '
  + 'budget roadmap design ticket 漢字 🙂 merge branch pipeline monitor alert dashboard').split(' ');
/** Fragments of the words above (partial matches, some non-ASCII, one of two letters). */
export const FRAGMENTS = ['eet', 'unc', 'morr', 'view', 'epl', 'back', 'cide', 'off', 'andu', 'leas', 'afé', 'ïve', 'übe',
  'udg', 'oadm', 'esig', 'ick', '漢', 'erg', 'ranc', 'ipel', 'onit', 'ler', 'ashb', 'de'];

export interface ChatSeed { chatUrl: string; messages: number; marker: string }

/** The i-th message text: 3-14 of the words, deterministic so seeds and creates look alike. */
export const sentence = (i: number) => Array.from({ length: 3 + (i % 12) }, (_, k) => WORDS[(i * 7 + k * 13) % WORDS.length]).join(' ');

async function call(method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new Error(`seeding: ${method} ${url} failed: ${(err as Error).message} (is the service running? BASE_URL)`, { cause: err });
  }
  const text = await res.text();
  if (res.status >= 300) throw new Error(`seeding: ${method} ${url} answered ${res.status} ${text.slice(0, 200)}`);
  return { status: res.status, json: JSON.parse(text) as unknown };
}

/** One application, one chat, `cfg.seedIds` messages (16 in flight); for search, waits until they are found. */
export async function seedChat(cfg: LoadConfig, say: (msg: string) => void, concurrency = 16): Promise<ChatSeed> {
  const marker = `seedmark${Date.now().toString(36)}`;
  const app = (await call('POST', `${cfg.baseUrl}/applications`, { name: `${cfg.prefix} ${cfg.targets}` })).json as { token: string };
  const chat = (await call('POST', `${cfg.baseUrl}/applications/${app.token}/chats`, { name: 'hot chat' })).json as { number: number };
  const chatUrl = `${cfg.baseUrl}/applications/${app.token}/chats/${chat.number}`;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, cfg.seedIds) }, async () => {
    while (next < cfg.seedIds) {
      const i = next++;
      await call('POST', `${chatUrl}/messages`, { body: `${sentence(i)}${i === 0 ? ` ${marker}` : ''}` });
    }
  }));
  if (cfg.targets === 'chat-search') {
    // The change log settles in ~10-15 s (docs/performance.md, search freshness); allow 120 s.
    say('waiting for the seeded messages to be searchable');
    for (let waited = 0; ; waited += 1) {
      const hits = (await call('GET', `${chatUrl}/messages/search?q=${marker}`)).json as unknown[];
      if (hits.length > 0) break;
      if (waited >= 120) throw new Error('seeding: the seeded messages were not searchable after 120 s (is the indexer running?)');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return { chatUrl, messages: cfg.seedIds, marker };
}

const JSON_HEADER = '{"Content-Type":["application/json"]}';

/** A function that returns the next target line (with its newline) for `cfg.targets` on the seeded chat. */
export function chatTargets(cfg: LoadConfig, seed: ChatSeed): () => string {
  const createUrl = JSON.stringify(`${seed.chatUrl}/messages`);
  const bodies = Array.from({ length: 512 }, (_, i) => Buffer.from(JSON.stringify({ body: sentence(i + 1) })).toString('base64'));
  switch (cfg.targets) {
    case 'chat-create':
      return () => `{"method":"POST","url":${createUrl},"body":"${bodies[Math.floor(Math.random() * bodies.length)]}","header":${JSON_HEADER}}\n`;
    case 'chat-list':
      return () => `{"method":"GET","url":"${seed.chatUrl}/messages?after=${Math.floor(Math.random() * Math.max(1, seed.messages - 50))}&limit=50"}\n`;
    case 'chat-search':
      return () => `{"method":"GET","url":${JSON.stringify(`${seed.chatUrl}/messages/search?q=${encodeURIComponent(FRAGMENTS[Math.floor(Math.random() * FRAGMENTS.length)]!)}&limit=20`)}}\n`;
    default:
      throw new Error(`chatTargets: ${cfg.targets} is not a chat target kind`);
  }
}
