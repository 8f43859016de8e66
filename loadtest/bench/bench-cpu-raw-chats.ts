/**
 * The raw side of `make bench-cpu` for the chat endpoints: the chat services and the searcher (the same CQL and
 * OpenSearch queries as the service, without HTTP) driven in this process, shaped like
 * loadtest/vegeta/chat-targets.ts: one application, one hot chat seeded with 600 messages; creates into it,
 * pages of 50 from anywhere in it, or partial-match searches of fragments of its words. Searches wait until the
 * seeds are indexed (the service side's indexer, started by bench-cpu.ts, indexes this keyspace).
 */
import { pacedRun, rawParts, type Measured } from './bench-cpu-raw.js';
import { FRAGMENTS, sentence } from '../vegeta/chat-targets.js';
import { sleep } from '../../src/async.js';

const SEEDS = 600;
const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;

export type ChatKind = 'chat-create' | 'chat-list' | 'chat-search';

export async function rawChatRun(kind: ChatKind, rate: number, duration: string, pids: Measured) {
  const { chats, searcher } = await rawParts();
  const marker = `rawmark${Date.now().toString(36)}`;
  const app = await chats.applications.create(`raw ${kind}`);
  const chat = (await chats.chats.create(app.token, 'hot chat')).item.number;
  for (let i = 0; i < SEEDS; i += 16) {
    await Promise.all(Array.from({ length: 16 }, (_, k) =>
      chats.messages.create(app.token, chat, `${sentence(i + k)}${i + k === 0 ? ` ${marker}` : ''}`)));
  }
  if (kind === 'chat-search') {
    for (let waited = 0; ; waited++) {
      const page = await searcher.searchMessages({ token: app.token, chat, q: marker, after: 0, limit: 1 });
      if (page.messages.length > 0) break;
      if (waited >= 120) throw new Error('raw chat-search: seeds not searchable after 120 s (is the service\'s indexer running?)');
      await sleep(1000);
    }
  }
  const op: Record<ChatKind, () => Promise<void>> = {
    'chat-create': async () => { await chats.messages.create(app.token, chat, sentence(Math.floor(Math.random() * 512))); },
    'chat-list': async () => { await chats.messages.list(app.token, chat, Math.floor(Math.random() * (SEEDS - 50)), 50); },
    'chat-search': async () => {
      await chats.chats.resolve(app.token, chat);
      await searcher.searchMessages({ token: app.token, chat, q: pick(FRAGMENTS), after: 0, limit: 20 });
    },
  };
  return pacedRun(op[kind], rate, duration, pids);
}
