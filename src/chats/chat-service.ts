import { conflict, notFound } from '../errors.js';
import type { ApplicationService } from './application-service.js';
import { chatUpserted, type ChangeLog } from './changes.js';
import type { ChatStore } from './chat-store.js';
import type { CountStore } from './count-store.js';
import type { CounterStore } from './counter-store.js';
import type { NumberedCreator, Created } from './numbered-create.js';
import { clientPage, MAX_PAGE_BYTES, MAX_SCANNED_ROWS } from './client-page.js';
import { APP_SCOPE, BoundedMap, highestStored, isPlaceholder, numberBucket, settleFence, settleInsert } from './numbered.js';
import type { Chat, ListPage } from './types.js';
import { matches, NO_CONDITIONS, requireIfMatch, Stale, type WriteConditions } from './conditions.js';
import { chatEntitiesCreated } from '../observability/chat-metrics.js';
import { decideCas } from '../storage/cas.js';
import { EarlierSends } from './earlier-sends.js';

export type ChatView = Chat & { messagesCount: number };

/** A chat row's size bound for page budgets: a 255-character name (up to 1,020 UTF-8 bytes) and its fields. */
const CHAT_ROW_BYTES = 1_100;

/** Chats of an application, numbered from 1 per application. */
export class ChatService {
  /** (application, chat) pairs known to exist: chats are never deleted, so this never goes stale. */
  private readonly existing = new BoundedMap<string, true>(50_000);

  constructor(private readonly apps: ApplicationService, private readonly store: ChatStore,
    private readonly counters: CounterStore, private readonly counts: CountStore,
    private readonly creator: NumberedCreator, private readonly changes: ChangeLog,
    private readonly ifMatchRequired = false, private readonly lateRowWindowMs = 0) {}

  async create(token: string, name: string | null, key?: string): Promise<Created<ChatView>> {
    const appId = await this.apps.resolve(token);
    const now = new Date();
    const created = await this.creator.create(appId, APP_SCOPE, {
      content: { name },
      matches: (c: Chat) => c.name === name,
      insert: async (number) => {
        const r = await settleInsert(async () => {
          const sent = await this.store.insert(appId, { number, name, version: 1, createdAt: now, updatedAt: now });
          return { applied: sent.applied, row: sent.chat };
        }, () => this.store.find(appId, number, true), (row) => !isPlaceholder(row) && row.createdAt.getTime() === now.getTime());
        return { applied: r.applied, item: isPlaceholder(r.row) ? null : r.row };
      },
      highest: (from) => highestStored(from, (bucket) => this.store.top(appId, bucket)),
      fence: async (number) => {
        const r = await settleFence(() => this.store.fence(appId, number, new Date()),
          () => this.store.find(appId, number, true));
        const placeholder = isPlaceholder(r.row);
        return { applied: r.applied, placeholder, item: placeholder ? null : r.row };
      },
      changed: (number) => this.changes.append(chatUpserted(appId, token, number, 1, now.getTime())),
    }, key);
    if (!created.replayed) chatEntitiesCreated.inc({ entity: 'chat' });
    this.existing.set(`${appId}/${created.item.number}`, true);
    const messagesCount = created.replayed ? await this.counts.total(appId, created.item.number) : 0;
    return { item: { ...created.item, messagesCount }, replayed: created.replayed };
  }

  /** The application's internal id, once the chat is known to exist (404 otherwise). */
  async resolve(token: string, number: number): Promise<string> {
    const appId = await this.apps.resolve(token);
    if (!this.existing.has(`${appId}/${number}`)) await this.find(appId, number);
    return appId;
  }

  async get(token: string, number: number): Promise<ChatView> {
    const appId = await this.apps.resolve(token);
    const chat = await this.find(appId, number);
    return { ...chat, messagesCount: await this.counts.total(appId, number) };
  }

  /** A page for a client (see clientPage): ends before a young hole (a chat whose row has not landed yet). */
  async list(token: string, after: number, limit: number): Promise<ListPage<ChatView>> {
    const appId = await this.apps.resolve(token);
    const last = await this.counters.lastNumber(appId, APP_SCOPE);
    const bounds = { limit, settledBefore: Date.now() - this.lateRowWindowMs, maxScanned: MAX_SCANNED_ROWS,
      maxBytes: MAX_PAGE_BYTES, maxRowBytes: CHAT_ROW_BYTES };
    const page = await clientPage(after, last, bounds, async (bucket, from, n) =>
      (await this.store.slice(appId, bucket, from, n)).map((c) =>
        ({ number: c.number, createdAt: c.createdAt, item: isPlaceholder(c) ? null : c, bytes: CHAT_ROW_BYTES })));
    const totals = new Map<number, number>();
    for (const bucket of new Set(page.items.map((c) => numberBucket(c.number)))) {
      const inBucket = page.items.filter((c) => numberBucket(c.number) === bucket);
      for (const [k, v] of await this.counts.totals(appId, inBucket[0]!.number, inBucket.at(-1)!.number)) totals.set(k, v);
    }
    return { items: page.items.map((c) => ({ ...c, messagesCount: totals.get(c.number) ?? 0 })), next: page.next };
  }

  /** Like an application rename: CAS on the version, If-Match (412) and REQUIRE_IF_MATCH (428). */
  async rename(token: string, number: number, name: string | null, cond: WriteConditions = NO_CONDITIONS): Promise<ChatView> {
    requireIfMatch(this.ifMatchRequired, cond);
    const appId = await this.apps.resolve(token);
    // A row an earlier attempt wrote is ours, even one that landed after its read-back found the row untouched.
    const sends = new EarlierSends<Chat, { version: number; at: Date }>((c, s) =>
      c.name === name && c.updatedAt.getTime() === s.at.getTime(), 'chat_rename');
    const renamed = async (chat: Chat) => {
      await this.changes.append(chatUpserted(appId, token, number, chat.version, chat.updatedAt.getTime()));
      return { ...chat, messagesCount: await this.counts.total(appId, number) };
    };
    for (let attempt = 0; attempt < 10; attempt++) {
      const chat = await this.find(appId, number);
      if (sends.find(chat)) return renamed(chat);
      if (cond.ifMatch !== null && !matches(cond.ifMatch, chat.version)) {
        throw new Stale({ ...chat, messagesCount: await this.counts.total(appId, number) });
      }
      const mine = sends.sent({ version: chat.version, at: new Date() });
      const applied = await decideCas(() => this.store.rename(appId, number, name, chat.version, mine.at),
        async () => sends.settle(await this.store.find(appId, number, true), mine));
      if (applied) return renamed({ ...chat, name, version: chat.version + 1, updatedAt: mine.at });
    }
    throw conflict('the chat is being changed');
  }

  private async find(appId: string, number: number): Promise<Chat> {
    const chat = await this.store.find(appId, number);
    if (!chat || isPlaceholder(chat)) throw notFound(`no chat number ${number} in this application`);
    this.existing.set(`${appId}/${number}`, true);
    return chat;
  }
}
