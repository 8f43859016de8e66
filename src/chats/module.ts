import type { Db } from '../storage/cassandra.js';
import type { Logger } from '../logger.js';
import { ApplicationService } from './application-service.js';
import { ApplicationStore } from './application-store.js';
import { changeLog } from './changes.js';
import { ChatService } from './chat-service.js';
import { ChatStore } from './chat-store.js';
import { CountStore } from './count-store.js';
import { CounterStore } from './counter-store.js';
import { ChatIdempotencyStore } from './idempotency-store.js';
import { ChatMessageService } from './message-service.js';
import { ChatMessageStore } from './message-store.js';
import { ChatMessageEditor } from './message-editor.js';
import { LeaseService } from './lease-service.js';
import { LeaseStore } from './lease-store.js';
import { noFeed, type MessageFeed } from './message-feed.js';
import { NumberedCreator } from './numbered-create.js';
import { NumberAllocator } from './numbering.js';
import type { ChatsSettings } from './settings.js';
import { chatValidators } from './validation.js';

export interface Chats {
  applications: ApplicationService;
  chats: ChatService;
  messages: ChatMessageService;
  editor: ChatMessageEditor;
  leases: LeaseService;
  validate: ReturnType<typeof chatValidators>;
}

/**
 * Wires the chat-applications product: stores over one Db, one number allocator per process, services.
 * `feed` receives every message version once its row write is acknowledged (the search fast path).
 */
export function createChats(db: Db, settings: ChatsSettings, log: Logger, feed: MessageFeed = noFeed): Chats {
  const counters = new CounterStore(db);
  const counts = new CountStore(db);
  const changes = changeLog(db, settings.logRetentionSeconds, settings.maxClockSkewMs);
  const numbers = new NumberAllocator(counters, { coalesce: settings.coalesceNumbering, maxAttempts: 50 }, log);
  const creator = new NumberedCreator(numbers, new ChatIdempotencyStore(db), settings.idempotencyTtlSeconds, log,
    settings.rowDeadlineMs);
  const applications = new ApplicationService(new ApplicationStore(db), counts, settings.requireIfMatch);
  const chats = new ChatService(applications, new ChatStore(db), counters, counts, creator, changes,
    settings.requireIfMatch, settings.lateRowWindowMs);
  const messageStore = new ChatMessageStore(db);
  const messages = new ChatMessageService(chats, messageStore, counters, creator, changes, settings.lateRowWindowMs,
    settings.maxBodyBytes, feed);
  const editor = new ChatMessageEditor(chats, messageStore, changes, settings.requireIfMatch, feed);
  const leases = new LeaseService(chats, new LeaseStore(db), messageStore);
  return { applications, chats, messages, editor, leases, validate: chatValidators(settings) };
}
