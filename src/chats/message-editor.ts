import { AppError, notFound } from '../errors.js';
import { decideCas } from '../storage/cas.js';
import type { ChangeLog } from './changes.js';
import type { ChatService } from './chat-service.js';
import { checkIfMatch, locked, requireIfMatch, type WriteConditions } from './conditions.js';
import type { CasResult, ChatMessageStore } from './message-store.js';
import { publicPart, type ChatMessage, type StoredMessage } from './types.js';

/**
 * Rounds of read + conditional write one change may take before it gives up (409): each lost round means
 * another change was applied, so 20 racing plain edits all land within 20 rounds.
 */
const MAX_ROUNDS = 25;


/**
 * Edits and deletes of chat messages: read the row (404, 423, 412 are answered from it without a Paxos round),
 * then one conditional write `IF version = <read> AND lease_token = <read> AND deleted_at = null`. A lost round
 * re-reads: with If-Match that is a 412 (the version moved), without it the change is applied on the new
 * version. An unknown outcome (timeout) is settled by a SERIAL read that recognises our own write (decideCas),
 * never answered as a conflict it may not be.
 */
export class ChatMessageEditor {
  constructor(private readonly chats: ChatService, private readonly store: ChatMessageStore,
    private readonly changes: ChangeLog, private readonly ifMatchRequired: boolean) {}

  async edit(token: string, chat: number, number: number, body: string, cond: WriteConditions): Promise<ChatMessage> {
    requireIfMatch(this.ifMatchRequired, cond);
    const appId = await this.chats.resolve(token, chat);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const current = await this.current(appId, chat, number, cond);
      const at = new Date();
      const change = { body, version: current.version, at };
      const applied = await decideCas(
        () => this.store.edit(appId, chat, number, change, current.lease?.token ?? null).then(applied_),
        async () => {
          const now = await this.store.find(appId, chat, number, true);
          return now !== null && now.version === current.version + 1 && now.body === body
            && now.updatedAt.getTime() === at.getTime();
        });
      if (applied) {
        await this.changes.append({ entity: 'message', op: 'upsert', app: appId, token, chat, message: number,
          version: current.version + 1, at: at.getTime() });
        return { ...publicPart(current), body, version: current.version + 1, updatedAt: at };
      }
    }
    throw new AppError(409, 'conflict', 'the message is being changed concurrently; retry');
  }

  /** Marks the message deleted (204): it reads and writes that one row only. */
  async delete(token: string, chat: number, number: number, cond: WriteConditions): Promise<void> {
    requireIfMatch(this.ifMatchRequired, cond);
    const appId = await this.chats.resolve(token, chat);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const current = await this.current(appId, chat, number, cond);
      const at = new Date();
      const applied = await decideCas(
        () => this.store.delete(appId, chat, number, { version: current.version, at }, current.lease?.token ?? null)
          .then(applied_),
        async () => (await this.store.find(appId, chat, number, true))?.deletedAt != null);
      if (applied) {
        // A delete entry's version is the deleted row's version (last live version + 1): a late upsert entry
        // of an older version can never win over it in a consumer that keeps the highest version.
        await this.changes.append({ entity: 'message', op: 'delete', app: appId, token, chat, message: number,
          version: current.version + 1, at: at.getTime() });
        return;
      }
    }
    throw new AppError(409, 'conflict', 'the message is being changed concurrently; retry');
  }

  /** The live row, if the caller may change it: 404 (missing or deleted), 423 (leased to another), 412. */
  private async current(appId: string, chat: number, number: number, cond: WriteConditions): Promise<StoredMessage> {
    const m = await this.store.find(appId, chat, number);
    if (!m || m.deletedAt) throw notFound(`no message number ${number} in this chat`);
    if (m.lease && m.lease.token !== cond.leaseToken) throw locked(m.lease.expiresAt);
    checkIfMatch(cond.ifMatch, publicPart(m));
    return m;
  }
}

const applied_ = (r: CasResult): boolean => r.applied;
