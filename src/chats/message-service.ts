import { notFound } from '../errors.js';
import type { ChangeLog } from './changes.js';
import type { ChatService } from './chat-service.js';
import type { CounterStore } from './counter-store.js';
import { noFeed, type MessageFeed } from './message-feed.js';
import type { ChatMessageStore } from './message-store.js';
import type { NumberedCreator, Created } from './numbered-create.js';
import { pageByNumber } from './numbered.js';
import { publicPart, type ChatMessage, type NumberedPage } from './types.js';
import { chatEntitiesCreated } from '../observability/chat-metrics.js';

/** Messages of a chat, numbered from 1 per chat. */
export class ChatMessageService {
  constructor(private readonly chats: ChatService, private readonly store: ChatMessageStore,
    private readonly counters: CounterStore, private readonly creator: NumberedCreator,
    private readonly changes: ChangeLog, private readonly feed: MessageFeed = noFeed) {}

  async create(token: string, chat: number, body: string, key?: string): Promise<Created<ChatMessage>> {
    const appId = await this.chats.resolve(token, chat);
    const now = new Date();
    const created = await this.creator.create(appId, chat, {
      content: { body },
      insert: async (number) => {
        const r = await this.store.insert(appId, chat, { number, body, version: 1, createdAt: now, updatedAt: now });
        // An Idempotency-Key replay of a create whose message was deleted since: the number stays taken.
        if (r.message.deletedAt) throw notFound(`message number ${number}, created with this key, was deleted`);
        if (r.applied) {
          this.feed({ kind: 'upsert', token, chat, number, body, version: 1, created_at: now, updated_at: now });
        }
        return { applied: r.applied, item: publicPart(r.message) };
      },
      changed: (number) => this.changes.append({ entity: 'message', op: 'upsert', app: appId, token, chat,
        message: number, version: 1, at: now.getTime() }),
    }, key);
    if (!created.replayed) chatEntitiesCreated.inc({ entity: 'message' });
    return created;
  }

  async get(token: string, chat: number, number: number): Promise<ChatMessage> {
    const appId = await this.chats.resolve(token, chat);
    const m = await this.store.find(appId, chat, number);
    if (!m || m.deletedAt) throw notFound(`no message number ${number} in this chat`);
    return publicPart(m);
  }

  async list(token: string, chat: number, after: number, limit: number): Promise<NumberedPage<ChatMessage>> {
    const appId = await this.chats.resolve(token, chat);
    const last = ((await this.counters.read(appId, chat)) ?? 1) - 1;
    return pageByNumber(after, limit, last, (bucket, from, n) => this.store.slice(appId, chat, bucket, from, n));
  }
}
