import { notFound } from '../errors.js';
import type { ChatsStores } from './data.js';
import { APP_SCOPE, pageByNumber } from './numbered.js';
import type { Application, Chat, StoredMessage } from './types.js';

/**
 * Rows read per Cassandra page while walking chats and messages: a page spans at most two number ranges (of
 * 1,000), and a walk holds one page at a time, whatever the size of the application or chat.
 */
const PAGE = 500;

/** Every application, or only the one of `token` (404 when there is none). */
export async function* allApplications(stores: Pick<ChatsStores, 'applications'>, token?: string):
  AsyncGenerator<Application> {
  if (token === undefined) {
    yield* stores.applications.all();
    return;
  }
  const app = await stores.applications.find(token);
  if (!app) throw notFound('no application with this token');
  yield app;
}

/**
 * An application's chats, a page at a time (for callers that work on a page in parallel), up to `last` (the last
 * chat number claimed; read from the counter when not given). Chats are never deleted, so every row is yielded.
 */
export function chatPages(stores: Pick<ChatsStores, 'chats' | 'counters'>, appId: string, last?: number):
  AsyncGenerator<Chat[]> {
  return numberedPages(async () => last ?? await stores.counters.lastNumber(appId, APP_SCOPE),
    (bucket, after, n) => stores.chats.slice(appId, bucket, after, n));
}

/** An application's chats, one at a time (chatPages). */
export async function* allChats(stores: Pick<ChatsStores, 'chats' | 'counters'>, appId: string, last?: number):
  AsyncGenerator<Chat> {
  for await (const page of chatPages(stores, appId, last)) yield* page;
}

/** A chat's messages, deleted rows included (a walk that rebuilds derived data must see the deletes too). */
export async function* allMessages(stores: Pick<ChatsStores, 'messages' | 'counters'>, appId: string, chat: number):
  AsyncGenerator<StoredMessage> {
  const pages = numberedPages(() => stores.counters.lastNumber(appId, chat),
    (bucket, after, n) => stores.messages.sliceWithDeleted(appId, chat, bucket, after, n));
  for await (const page of pages) yield* page;
}

/** A parent's rows in number order, PAGE at a time, up to the last number claimed when the walk starts. */
async function* numberedPages<T extends { number: number }>(lastNumber: () => Promise<number>,
  slice: (bucket: number, after: number, limit: number) => Promise<T[]>): AsyncGenerator<T[]> {
  const last = await lastNumber();
  for (let after = 0; ;) {
    const page = await pageByNumber(after, PAGE, last, slice);
    if (page.items.length > 0) yield page.items;
    if (!page.more || page.items.length === 0) return;
    after = page.items.at(-1)!.number;
  }
}
