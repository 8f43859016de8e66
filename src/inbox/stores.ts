import type { Db } from '../storage/cassandra.js';
import { ColdStore } from './cold-store.js';
import { CursorStore } from './cursor-store.js';
import { IdempotencyStore } from './idempotency-store.js';
import { MessageStore } from './message-store.js';

/** The inbox's data access, one store per table family, over one driver client. */
export interface InboxStores {
  messages: MessageStore;
  cursors: CursorStore;
  keys: IdempotencyStore;
  cold: ColdStore;
}

export function inboxStores(db: Db): InboxStores {
  return { messages: new MessageStore(db), cursors: new CursorStore(db), keys: new IdempotencyStore(db), cold: new ColdStore(db) };
}
