import type { Db } from '../storage/cassandra.js';
import type { Logger } from '../logger.js';
import { ApplicationService } from './application-service.js';
import { ChatService } from './chat-service.js';
import { chatsData } from './data.js';
import { ChatMessageService } from './message-service.js';
import { ChatMessageEditor } from './message-editor.js';
import { createBodyStore } from '../bodies/create.js';
import { MessageHistoryService } from './history-service.js';
import { LeaseService } from './lease-service.js';
import { MessageBodies } from './message-bodies.js';
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
  history: MessageHistoryService;
  /** The message bodies (server start-up runs its create-only check). */
  bodies: MessageBodies;
  validate: ReturnType<typeof chatValidators>;
}

/**
 * Wires the chat-applications product: its data (chatsData: stores and change log over one Db), one number allocator per process, services.
 * `feed` receives every message version once its row write is acknowledged (the search fast path).
 */
export function createChats(db: Db, settings: ChatsSettings, log: Logger, feed: MessageFeed = noFeed): Chats {
  const data = chatsData(db, settings);
  const numbers = new NumberAllocator(data.counters, { coalesce: settings.coalesceNumbering, maxAttempts: 50 }, log);
  const creator = new NumberedCreator(numbers, data.idempotency, settings.idempotencyTtlSeconds, log,
    settings.rowDeadlineMs);
  const applications = new ApplicationService(data.applications, data.counts, settings.requireIfMatch);
  const chats = new ChatService(applications, data.chats, data.counters, data.counts, creator, data.changes,
    settings.requireIfMatch, settings.lateRowWindowMs);
  const bodies = new MessageBodies(createBodyStore(settings.bodyStore), settings.bodies, log);
  const messages = new ChatMessageService(chats, data.messages, data.counters, creator, data.changes,
    settings.lateRowWindowMs, settings.maxBodyBytes, bodies, feed);
  const editor = new ChatMessageEditor(chats, data.messages, data.changes, settings.requireIfMatch, bodies, feed);
  const leases = new LeaseService(chats, data.leases, data.messages);
  const history = new MessageHistoryService(chats, data.messages, bodies);
  return { applications, chats, messages, editor, leases, history, bodies, validate: chatValidators(settings) };
}
