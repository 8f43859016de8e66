import { notFound } from '../errors.js';
import type { ChatService } from './chat-service.js';
import type { BodySource, MessageBodies } from './message-bodies.js';
import { retained, type VersionEntry } from './message-history.js';
import type { ChatMessageStore } from './message-store.js';
import type { StoredMessage } from './types.js';

/** A page of versions, newest first; `next` is the `before` of the next page (null: no older version kept). */
export interface VersionPage { items: VersionEntry[]; next: number | null }

/**
 * The version history of one message: the versions the row's history retains (CHAT_HISTORY_MAX_VERSIONS, and
 * CHAT_HISTORY_MAX_AGE_SECONDS except for the current one), and each one's body from its immutable object.
 */
export class MessageHistoryService {
  constructor(private readonly chats: ChatService, private readonly store: ChatMessageStore,
    private readonly bodies: MessageBodies) {}

  /** Versions older than `before` (null: from the current one), newest first, at most `limit`. */
  async list(token: string, chat: number, number: number, before: number | null, limit: number): Promise<VersionPage> {
    const entries = (await this.kept(token, chat, number)).filter((e) => before === null || e.version < before).reverse();
    const items = entries.slice(0, limit);
    return { items, next: entries.length > limit ? items.at(-1)!.version : null };
  }

  /** One retained version and its body (checked against its digest). */
  async get(token: string, chat: number, number: number, version: number): Promise<{ entry: VersionEntry; body: string }> {
    const m = await this.live(token, chat, number);
    const entry = this.retainedOf(m).find((e) => e.version === version);
    if (!entry) throw notFound(`message ${number} has no retained version ${version}`);
    const body = version === m.version ? await this.bodies.body(m.ref, m.body)
      : await this.bodies.object({ key: entry.key, digest: entry.digest, size: entry.size });
    return { entry, body };
  }

  /**
   * One version's body as a stream (GET .../body, .../versions/:v/body): `version` null is the current one.
   * The entry is the retained one (for the current version of a row written before file storage, a stand-in).
   */
  async source(token: string, chat: number, number: number, version: number | null)
    : Promise<{ entry: VersionEntry; body: BodySource }> {
    const m = await this.live(token, chat, number);
    const v = version ?? m.version;
    const entry = this.retainedOf(m).find((e) => e.version === v);
    if (!entry) throw notFound(`message ${number} has no retained version ${v}`);
    if (v !== m.version && entry.key === null) throw notFound('this version\'s body is not kept');
    const body = v === m.version ? await this.bodies.source(m.ref, m.body)
      : await this.bodies.source({ key: entry.key, digest: entry.digest, size: entry.size }, '');
    return { entry, body };
  }

  private async kept(token: string, chat: number, number: number): Promise<VersionEntry[]> {
    return this.retainedOf(await this.live(token, chat, number));
  }

  /**
   * The row's retained entries; a row written before file storage has none, so its current version stands in
   * (its digest and size are not recorded: '' and the cell's size).
   */
  private retainedOf(m: StoredMessage): VersionEntry[] {
    if (m.history.length > 0) return retained(m.history, m.version, this.bodies.settings.retention, Date.now());
    return [{ version: m.version, key: m.ref?.key ?? null, digest: m.ref?.digest ?? '',
      size: m.ref?.size ?? Buffer.byteLength(m.body), editedAt: m.updatedAt, lease: null }];
  }

  private async live(token: string, chat: number, number: number): Promise<StoredMessage> {
    const appId = await this.chats.resolve(token, chat);
    const m = await this.store.find(appId, chat, number);
    if (!m || m.deletedAt) throw notFound(`no message number ${number} in this chat`);
    return m;
  }
}
