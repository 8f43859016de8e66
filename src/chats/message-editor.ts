import { AppError, notFound } from '../errors.js';
import { decideCas } from '../storage/cas.js';
import type { ChangeLog } from './changes.js';
import type { ChatService } from './chat-service.js';
import { checkIfMatch, locked, requireIfMatch, type WriteConditions } from './conditions.js';
import { noFeed, type MessageFeed } from './message-feed.js';
import type { CasResult, ChatMessageStore } from './message-store.js';
import { publicPart, type ChatMessage, type StoredMessage } from './types.js';

/**
 * Rounds of read + conditional write one change may take before it gives up (409): each lost round means
 * another change was applied. With the pauses below, 32 plain editors on one message gave up 5 times in ~2,300
 * edits (0.2 %) at 40 rounds; one editor at a time (the lease's use) never loses a round.
 */
const MAX_ROUNDS = 40;


/**
 * Edits and deletes of chat messages: read the row (404, 423, 412 are answered from it without a Paxos round),
 * then one conditional write `IF version = <read> AND lease_token = <read> AND deleted_at = null`. A lost round
 * re-reads: with If-Match that is a 412 (the version moved), without it the change is applied on the new
 * version. An unknown outcome (timeout) is settled by a SERIAL read that recognises our own write (decideCas),
 * never answered as a conflict it may not be.
 */
export class ChatMessageEditor {
  constructor(private readonly chats: ChatService, private readonly store: ChatMessageStore,
    private readonly changes: ChangeLog, private readonly ifMatchRequired: boolean,
    private readonly feed: MessageFeed = noFeed) {}

  async edit(token: string, chat: number, number: number, body: string, cond: WriteConditions): Promise<ChatMessage> {
    requireIfMatch(this.ifMatchRequired, cond);
    const appId = await this.chats.resolve(token, chat);
    // The row our previous round wrote if its "not applied" was really a re-sent applied write: it is ours.
    const isOurs = (m: StoredMessage | null, version: number, at: Date) => m !== null && m.deletedAt === null
      && m.version === version + 1 && m.body === body && m.updatedAt.getTime() === at.getTime();
    let sent: { version: number; at: Date } | null = null;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const row = await this.store.find(appId, chat, number);
      if (sent && isOurs(row, sent.version, sent.at)) return this.edited(appId, token, chat, row!);
      const current = this.changeable(row, number, cond);
      const at = new Date();
      const change = { body, version: current.version, at };
      const applied = await decideCas(
        () => this.store.edit(appId, chat, number, change, current.lease?.token ?? null).then(applied_),
        async () => isOurs(await this.store.find(appId, chat, number, true), current.version, at));
      if (applied) {
        return this.edited(appId, token, chat, { ...current, body, version: current.version + 1, updatedAt: at });
      }
      sent = { version: current.version, at };
      await backOff(round);
    }
    throw new AppError(409, 'conflict', 'the message is being changed concurrently; retry');
  }

  private async edited(appId: string, token: string, chat: number, m: StoredMessage): Promise<ChatMessage> {
    this.feed({ kind: 'upsert', token, chat, number: m.number, body: m.body, version: m.version,
      created_at: m.createdAt, updated_at: m.updatedAt });
    await this.changes.append({ entity: 'message', op: 'upsert', app: appId, token, chat, message: m.number,
      version: m.version, at: m.updatedAt.getTime() });
    return publicPart(m);
  }

  /** Marks the message deleted (204): it reads and writes that one row only. */
  async delete(token: string, chat: number, number: number, cond: WriteConditions): Promise<void> {
    requireIfMatch(this.ifMatchRequired, cond);
    const appId = await this.chats.resolve(token, chat);
    let sent: { version: number; at: Date } | null = null;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const row = await this.store.find(appId, chat, number);
      // Our previous round's delete, re-sent and so answered "not applied": it is ours.
      let deleted = sent !== null && row?.deletedAt?.getTime() === sent.at.getTime() ? sent.version : null;
      if (deleted === null) {
        const current = this.changeable(row, number, cond);
        sent = { version: current.version, at: new Date() };
        const change = sent;
        const applied = await decideCas(
          () => this.store.delete(appId, chat, number, change, current.lease?.token ?? null).then(applied_),
          async () => (await this.store.find(appId, chat, number, true))?.deletedAt?.getTime() === change.at.getTime());
        if (applied) deleted = current.version;
      }
      if (deleted === null) await backOff(round);
      if (deleted !== null) {
        // A delete entry's version is the deleted row's version (last live version + 1): a late upsert entry
        // of an older version can never win over it in a consumer that keeps the highest version.
        this.feed({ kind: 'delete', token, chat, number, version: deleted + 1, updated_at: sent!.at });
        await this.changes.append({ entity: 'message', op: 'delete', app: appId, token, chat, message: number,
          version: deleted + 1, at: Date.now() });
        return;
      }
    }
    throw new AppError(409, 'conflict', 'the message is being changed concurrently; retry');
  }

  /** The live row, if the caller may change it: 404 (missing or deleted), 423 (leased to another), 412. */
  private changeable(m: StoredMessage | null, number: number, cond: WriteConditions): StoredMessage {
    if (!m || m.deletedAt) throw notFound(`no message number ${number} in this chat`);
    if (m.lease && m.lease.token !== cond.leaseToken) throw locked(m.lease.expiresAt);
    checkIfMatch(cond.ifMatch, publicPart(m));
    return m;
  }
}

const applied_ = (r: CasResult): boolean => r.applied;

/**
 * After a lost round: editors racing on one message otherwise retry in lock step and keep preempting each
 * other's Paxos rounds. Measured with 32 plain editors on one message (loadtest/bench/bench-edits.ts): no pause, 25
 * rounds: ~17 % gave up; up to 2 ms × round: ~7 %; up to 5 ms × round (at most 50 ms), 40 rounds: 0.2 %.
 */
const backOff = (round: number): Promise<void> =>
  round === 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 5 * round)));
