import type { Db } from '../../storage/cassandra.js';
import { ApplicationStore } from '../../chats/application-store.js';
import { ChatStore } from '../../chats/chat-store.js';
import { CounterStore } from '../../chats/counter-store.js';
import { ChatMessageStore } from '../../chats/message-store.js';
import { APP_SCOPE, pageByNumber } from '../../chats/numbered.js';
import type { Application } from '../../chats/types.js';
import type { ChangeEvent } from '../../search/documents.js';
import { notFound } from '../../errors.js';
import { rowEvent } from './row-event.js';

/** Rows read per Cassandra page while walking chats and messages. */
const PAGE = 500;

/**
 * Every message in Cassandra as the search index must hold it, of one application (`token`) or of all of them:
 * the source of `ephemera reindex`. Live rows are documents, deleted rows tombstones (so a reindex also hides a
 * delete whose change entry was lost). Walks each parent's number ranges up to its counter (constant memory
 * whatever the size).
 */
export async function* messagesFromCassandra(db: Db, token?: string): AsyncGenerator<ChangeEvent> {
  const apps = new ApplicationStore(db);
  const chats = new ChatStore(db);
  const counters = new CounterStore(db);
  const messages = new ChatMessageStore(db);
  const lastOf = async (appId: string, scope: number) => ((await counters.read(appId, scope)) ?? 1) - 1;
  const source: AsyncIterable<Application> = token === undefined ? apps.all() : one(apps, token);
  for await (const app of source) {
    const lastChat = await lastOf(app.appId, APP_SCOPE);
    for (let afterChat = 0; ;) {
      const page = await pageByNumber(afterChat, PAGE, lastChat, (b, from, n) => chats.slice(app.appId, b, from, n));
      for (const chat of page.items) {
        const lastMessage = await lastOf(app.appId, chat.number);
        for (let afterMessage = 0; ;) {
          const ms = await pageByNumber(afterMessage, PAGE, lastMessage,
            (b, from, n) => messages.sliceWithDeleted(app.appId, chat.number, b, from, n));
          for (const m of ms.items) yield rowEvent({ token: app.token, chat: chat.number, number: m.number }, m);
          if (!ms.more || ms.items.length === 0) break;
          afterMessage = ms.items.at(-1)!.number;
        }
      }
      if (!page.more || page.items.length === 0) break;
      afterChat = page.items.at(-1)!.number;
    }
  }
}

async function* one(apps: ApplicationStore, token: string): AsyncGenerator<Application> {
  const app = await apps.find(token);
  if (!app) throw notFound('no application with this token');
  yield app;
}
