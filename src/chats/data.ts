import type { Db } from '../storage/cassandra.js';
import type { Clock } from '../clock.js';
import { ApplicationStore } from './application-store.js';
import { changeLog, type ChangeLog } from './changes.js';
import { ChatStore } from './chat-store.js';
import { CountStore } from './count-store.js';
import { CounterStore } from './counter-store.js';
import { ChatIdempotencyStore } from './idempotency-store.js';
import { LeaseStore } from './lease-store.js';
import { ChatMessageStore } from './message-store.js';

/** The chats product's tables, one store each, over one Db. */
export interface ChatsStores {
  applications: ApplicationStore;
  chats: ChatStore;
  /** The number counters: where each parent's numbers end. */
  counters: CounterStore;
  /** The derived chats_count / messages_count. */
  counts: CountStore;
  messages: ChatMessageStore;
  idempotency: ChatIdempotencyStore;
  leases: LeaseStore;
}

/** The change log's timing (ChatsSettings, CountsSettings and IndexerSettings all carry it). */
export interface ChangeLogSettings {
  logRetentionSeconds: number;
  /** MAX_CLOCK_SKEW_MS: the log's late margin and settle time follow it. */
  maxClockSkewMs: number;
}

/** The stores and the change log: what the services write and the workers (counts, indexer) read. */
export interface ChatsData extends ChatsStores {
  changes: ChangeLog;
}

/** The stores alone, for readers that never touch the change log (the reindex source, the body sweeper). */
export function chatsStores(db: Db): ChatsStores {
  return {
    applications: new ApplicationStore(db), chats: new ChatStore(db), counters: new CounterStore(db),
    counts: new CountStore(db), messages: new ChatMessageStore(db), idempotency: new ChatIdempotencyStore(db),
    leases: new LeaseStore(db),
  };
}

/** The one place the chats data is built: the stores over `db` and the change log with `settings`' timing. */
export function chatsData(db: Db, settings: ChangeLogSettings, clock?: Clock): ChatsData {
  return { ...chatsStores(db), changes: changeLog(db, settings.logRetentionSeconds, settings.maxClockSkewMs, clock) };
}
