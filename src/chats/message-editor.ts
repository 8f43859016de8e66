import { AppError, notFound } from '../errors.js';
import { decideCas } from '../storage/cas.js';
import type { ChangeLog } from './changes.js';
import type { ChatService } from './chat-service.js';
import { checkIfMatch, leaseExpired, locked, requireIfMatch, type WriteConditions } from './conditions.js';
import { noFeed, type MessageFeed } from './message-feed.js';
import type { CasResult, ChatMessageStore } from './message-store.js';
import { decideByVersion } from './read-back.js';
import { publicPart, type ChangeEntry, type ChatMessage, type StoredMessage } from './types.js';
import type { Appended } from '../storage/bucketed-log.js';
import { sleep } from '../async.js';

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
 * never answered as a conflict it may not be; when another edit landed on top, it stays unknown (503).
 */
export class ChatMessageEditor {
  constructor(private readonly chats: ChatService, private readonly store: ChatMessageStore,
    private readonly changes: ChangeLog, private readonly ifMatchRequired: boolean,
    private readonly feed: MessageFeed = noFeed) {}

  async edit(token: string, chat: number, number: number, body: string, cond: WriteConditions): Promise<ChatMessage> {
    requireIfMatch(this.ifMatchRequired, cond);
    const appId = await this.chats.resolve(token, chat);
    const intent = new Intent(this.changes, (version) => ({ entity: 'message', op: 'upsert', app: appId, token, chat,
      message: number, version, at: Date.now() }));
    // The row our previous round wrote if its "not applied" was really a re-sent applied write: it is ours.
    const isOurs = (m: StoredMessage | null, version: number, at: Date) => m !== null && m.deletedAt === null
      && m.version === version + 1 && m.body === body && m.updatedAt.getTime() === at.getTime();
    let sent: { version: number; at: Date } | null = null;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const row = await this.store.find(appId, chat, number);
      if (sent && isOurs(row, sent.version, sent.at)) return this.edited(intent, token, chat, row!);
      const current = this.changeable(row, number, cond);
      await intent.before(current.version + 1);
      const at = new Date();
      const change = { body, version: current.version, at };
      const applied = await intent.write(() => decideCas(
        () => this.store.edit(appId, chat, number, change, current.lease?.token ?? null).then(applied_),
        async () => {
          const now = await this.store.find(appId, chat, number, true);
          return decideByVersion(now, current.version, isOurs(now, current.version, at), 'chat_message_edit');
        }));
      if (applied) return this.edited(intent, token, chat, { ...current, body, version: current.version + 1, updatedAt: at });
      sent = { version: current.version, at };
      await backOff(round);
    }
    throw new AppError(409, 'conflict', 'the message is being changed concurrently; retry');
  }

  private async edited(intent: Intent, token: string, chat: number, m: StoredMessage): Promise<ChatMessage> {
    this.feed({ kind: 'upsert', token, chat, number: m.number, body: m.body, version: m.version,
      created_at: m.createdAt, updated_at: m.updatedAt });
    await intent.after();
    return publicPart(m);
  }

  /** Marks the message deleted (204): it reads and writes that one row only. */
  async delete(token: string, chat: number, number: number, cond: WriteConditions): Promise<void> {
    requireIfMatch(this.ifMatchRequired, cond);
    const appId = await this.chats.resolve(token, chat);
    // A delete entry's version is the deleted row's version (last live version + 1); the indexer re-reads the
    // row anyway, so an entry whose delete did not apply hides nothing.
    const intent = new Intent(this.changes, (version) => ({ entity: 'message', op: 'delete', app: appId, token, chat,
      message: number, version, at: Date.now() }));
    let sent: { version: number; at: Date } | null = null;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const row = await this.store.find(appId, chat, number);
      // Our previous round's delete, re-sent and so answered "not applied": it is ours (its entry went first).
      let deleted = sent !== null && row?.deletedAt?.getTime() === sent.at.getTime() ? sent.version : null;
      if (deleted === null) {
        const current = this.changeable(row, number, cond);
        await intent.before(current.version + 1);
        sent = { version: current.version, at: new Date() };
        const change = sent;
        const applied = await intent.write(() => decideCas(
          () => this.store.delete(appId, chat, number, change, current.lease?.token ?? null).then(applied_),
          async () => (await this.store.find(appId, chat, number, true))?.deletedAt?.getTime() === change.at.getTime()));
        if (applied) deleted = current.version;
      }
      if (deleted === null) await backOff(round);
      if (deleted !== null) {
        this.feed({ kind: 'delete', token, chat, number, version: deleted + 1, updated_at: sent!.at });
        await intent.after();
        return;
      }
    }
    throw new AppError(409, 'conflict', 'the message is being changed concurrently; retry');
  }

  /**
   * The live row, if the caller may change it: 404 (missing or deleted), 423 (leased to another), 409
   * lease_expired (the caller names a lease the row no longer holds), 412.
   */
  private changeable(m: StoredMessage | null, number: number, cond: WriteConditions): StoredMessage {
    if (!m || m.deletedAt) throw notFound(`no message number ${number} in this chat`);
    if (m.lease && m.lease.token !== cond.leaseToken) throw locked(m.lease.expiresAt);
    // A caller that sends a Lease-Token believes it holds the lease. If it lapsed (or was released), others may
    // have edited meanwhile: applying this change as if unleased would silently overwrite their edit.
    if (cond.leaseToken !== null && !m.lease) throw leaseExpired();
    checkIfMatch(cond.ifMatch, publicPart(m));
    return m;
  }
}

const applied_ = (r: CasResult): boolean => r.applied;

/**
 * The change entry of one edit or delete, appended before its first conditional write (an intent) rather than
 * after it: an applied write whose answer was lost, whose process died, or whose retry finds it already applied
 * (404, 412) then still has its entry, and a consumer re-reads the row, so an entry for a write that did not
 * apply costs one read. It is appended again when the write ended after the entry's bucket may have been walked
 * (`after`), or failed with its outcome open (`write`: the Paxos round may still complete).
 */
class Intent {
  private appended: { entry: ChangeEntry; receipt: Appended } | null = null;
  constructor(private readonly changes: ChangeLog, private readonly entry: (version: number) => ChangeEntry) {}

  async before(version: number): Promise<void> {
    if (this.appended !== null) return;
    const entry = this.entry(version);
    this.appended = { entry, receipt: await this.changes.append(entry) };
  }

  async write<R>(cas: () => Promise<R>): Promise<R> {
    try {
      return await cas();
    } catch (err) {
      if (this.appended !== null) await this.changes.append(this.appended.entry).catch(() => undefined);
      throw err;
    }
  }

  async after(): Promise<void> {
    if (this.appended !== null && !this.appended.receipt.covers()) await this.changes.append(this.appended.entry);
  }
}

/**
 * After a lost round: editors racing on one message otherwise retry in lock step and keep preempting each
 * other's Paxos rounds. Measured with 32 plain editors on one message (loadtest/bench/bench-edits.ts): no pause, 25
 * rounds: ~17 % gave up; up to 2 ms × round: ~7 %; up to 5 ms × round (at most 50 ms), 40 rounds: 0.2 %.
 */
const backOff = (round: number): Promise<void> =>
  round === 0 ? Promise.resolve() : sleep(Math.random() * Math.min(50, 5 * round));
