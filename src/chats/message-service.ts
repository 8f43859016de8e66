import { notFound } from '../errors.js';
import { messageUpserted, type ChangeLog } from './changes.js';
import type { ChatService } from './chat-service.js';
import type { CounterStore } from './counter-store.js';
import { noFeed, type MessageFeed } from './message-feed.js';
import type { MessageBodies } from './message-bodies.js';
import type { ChatMessageStore } from './message-store.js';
import type { NumberedCreator, Created } from './numbered-create.js';
import { clientPage, MAX_PAGE_BYTES, MAX_SCANNED_ROWS } from './client-page.js';
import { highestStored, isPlaceholder, settleFence, settleInsert } from './numbered.js';
import { publicPart, type ChatMessage, type ListPage } from './types.js';
import { chatEntitiesCreated } from '../observability/chat-metrics.js';

/** Messages of a chat, numbered from 1 per chat. */
export class ChatMessageService {
  constructor(private readonly chats: ChatService, private readonly store: ChatMessageStore,
    private readonly counters: CounterStore, private readonly creator: NumberedCreator,
    private readonly changes: ChangeLog, private readonly lateRowWindowMs: number,
    private readonly maxBodyBytes: number, private readonly bodies: MessageBodies,
    private readonly feed: MessageFeed = noFeed) {}

  async create(token: string, chat: number, body: string, key?: string): Promise<Created<ChatMessage>> {
    const appId = await this.chats.resolve(token, chat);
    const now = new Date();
    const created = await this.creator.create(appId, chat, {
      content: { body },
      matches: (m: ChatMessage) => m.body === body,
      insert: async (number, beforeRow) => {
        // The object first (a store that is down fails here, before any row), then the row that points to it.
        const saved = await this.bodies.save(appId, chat, number, 1, body);
        this.bodies.fresh(saved);
        // Created once its body is stored: the late-row window (a hole before this row stays young while this
        // row is younger than it) then starts at the row write, however long the upload took.
        const at = this.bodies.kind === 'cassandra' ? now : new Date();
        const r = await settleInsert(async () => {
          beforeRow();
          const sent = await this.store.insert(appId, chat, { number, body: saved.inline, version: 1, createdAt: at,
            updatedAt: at, ref: saved.ref, history: [this.bodies.entry(1, saved, at, null)] });
          return { applied: sent.applied, row: sent.message };
        }, () => this.store.find(appId, chat, number, true), (row) => !isPlaceholder(row) && row.createdAt.getTime() === at.getTime());
        if (r.applied) {
          // Search indexes what the row keeps (the inline prefix of a large body), as the indexer would.
          this.feed({ kind: 'upsert', token, chat, number, body: saved.inline, version: 1, created_at: at, updated_at: at });
          return { applied: true, item: { ...publicPart(r.row), body } };
        }
        return { applied: false, item: r.row.deletedAt ? null : await this.bodies.full(r.row) };
      },
      highest: (from) => highestStored(from, (bucket) => this.store.top(appId, chat, bucket)),
      fence: async (number) => {
        const r = await settleFence(() => this.store.fence(appId, chat, number, new Date()),
          () => this.store.find(appId, chat, number, true));
        return { applied: r.applied, placeholder: isPlaceholder(r.row),
          item: r.row.deletedAt ? null : await this.bodies.full(r.row) };
      },
      changed: (number) => this.changes.append(messageUpserted({ app: appId, token, chat }, number, 1, now.getTime())),
    }, key);
    if (!created.replayed) chatEntitiesCreated.inc({ entity: 'message' });
    return created;
  }

  async get(token: string, chat: number, number: number): Promise<ChatMessage> {
    const appId = await this.chats.resolve(token, chat);
    const m = await this.store.find(appId, chat, number);
    if (!m || m.deletedAt) throw notFound(`no message number ${number} in this chat`);
    return this.bodies.full(m);
  }

  /** A page for a client (see clientPage): ends before a young hole, and after bounded rows and bytes. */
  async list(token: string, chat: number, after: number, limit: number): Promise<ListPage<ChatMessage>> {
    const appId = await this.chats.resolve(token, chat);
    const last = await this.counters.lastNumber(appId, chat);
    // A row costs at most 64 KiB of a page's byte budget when sizing a read (bodies larger than that end the
    // page after one row anyway): 8 MiB bodies must not turn every read into a one-row read.
    const bounds = { limit, settledBefore: Date.now() - this.lateRowWindowMs, maxScanned: MAX_SCANNED_ROWS,
      maxBytes: MAX_PAGE_BYTES, maxRowBytes: Math.min(this.maxBodyBytes, 64 * 1024) };
    const page = await clientPage(after, last, bounds, (bucket, from, n) => this.store.scan(appId, chat, bucket, from, n));
    return { items: await this.bodies.fullAll(page.items), next: page.next };
  }
}
