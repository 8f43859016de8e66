import type { Db } from '../../storage/cassandra.js';
import { chatsStores } from '../../chats/data.js';
import { allApplications, allChats, allMessages } from '../../chats/walk-all.js';
import type { ChangeEvent } from '../../search/documents.js';
import { rowEvent } from './row-event.js';

/**
 * Every message in Cassandra as the search index must hold it, of one application (`token`) or of all of them:
 * the source of `ephemera reindex`. Live rows are documents, deleted rows tombstones (so a reindex also hides a
 * delete whose change entry was lost). Walks each parent's number ranges up to its counter (constant memory
 * whatever the size).
 */
export async function* messagesFromCassandra(db: Db, token?: string): AsyncGenerator<ChangeEvent> {
  const stores = chatsStores(db);
  for await (const app of allApplications(stores, token)) {
    for await (const chat of allChats(stores, app.appId)) {
      for await (const m of allMessages(stores, app.appId, chat.number)) {
        yield rowEvent({ token: app.token, chat: chat.number, number: m.number }, m);
      }
    }
  }
}
