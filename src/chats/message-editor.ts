import { conflict, notFound } from '../errors.js';
import { decideCas } from '../storage/cas.js';
import { deletedVersion, messageDeleted, messageUpserted, type ChangeLog } from './changes.js';
import type { ChatService } from './chat-service.js';
import { checkIfMatch, leaseExpired, locked, requireIfMatch, type WriteConditions } from './conditions.js';
import type { Readable } from 'node:stream';
import type { MessageBodies, SavedBody } from './message-bodies.js';
import { noFeed, type MessageFeed } from './message-feed.js';
import { appendRetained, leaseHolder } from './message-history.js';
import type { CasResult, ChatMessageStore } from './message-store.js';
import { EarlierSends } from './earlier-sends.js';
import { publicPart, type BodyRef, type ChangeEntry, type ChatMessage, type StoredMessage } from './types.js';
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
    private readonly bodies: MessageBodies, private readonly feed: MessageFeed = noFeed) {}

  async edit(token: string, chat: number, number: number, body: string, cond: WriteConditions): Promise<ChatMessage> {
    const m = await this.change(token, chat, number, cond,
      (appId, version) => this.bodies.save(appId, chat, number, version, body));
    return { ...publicPart(m), body };
  }

  /**
   * An edit whose body streams in (PUT .../body): stored once, whatever the rounds (a stream cannot be read
   * twice; the object's key is this request's alone, so a later round points the row to the same object).
   * Answers the row as written: its cell holds the inline prefix, its ref the size and digest.
   */
  async editStreamed(token: string, chat: number, number: number, body: Readable, size: number,
    cond: WriteConditions): Promise<StoredMessage> {
    let saved: Promise<SavedBody> | null = null;
    return this.change(token, chat, number, cond,
      (appId, version) => (saved ??= this.bodies.saveStream(appId, chat, number, version, body, size)));
  }

  private async change(token: string, chat: number, number: number, cond: WriteConditions,
    save: (appId: string, version: number) => Promise<SavedBody>): Promise<StoredMessage> {
    requireIfMatch(this.ifMatchRequired, cond);
    const appId = await this.chats.resolve(token, chat);
    const intent = new Intent(this.changes, (read) =>
      messageUpserted({ app: appId, token, chat }, number, read + 1, Date.now()));
    // A row an earlier round wrote is ours: a "not applied" that was a re-sent applied write, or a send that
    // landed after its read-back found the row untouched. Each round's object key is new (keys.ts), so the key
    // alone says so; without an object store, body and time do.
    const sends = new EarlierSends<StoredMessage, { version: number; at: Date; ref: BodyRef }>((m, s) =>
      m.deletedAt === null && m.version === s.version + 1 && m.updatedAt.getTime() === s.at.getTime()
      && m.ref?.digest === s.ref.digest && m.ref.key === s.ref.key, 'chat_message_edit');
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const row = await this.store.find(appId, chat, number);
      if (sends.find(row)) return this.edited(intent, token, chat, row!);
      const current = this.changeable(row, number, cond);
      // The object before the change entry and the row: a store that is down answers 503 having changed nothing.
      // A round that loses leaves its object to the sweeper.
      const saved = await save(appId, current.version + 1);
      await intent.before(current.version);
      const at = new Date();
      const lease = current.lease?.token ?? null;
      const change = { body: saved.inline, ref: saved.ref, version: current.version, at,
        history: appendRetained(current.history,
          this.bodies.entry(current.version + 1, saved, at, leaseHolder(lease)), this.bodies.settings.retention) };
      const mine = sends.sent({ version: current.version, at, ref: saved.ref });
      this.bodies.fresh(saved);
      const applied = await intent.write(() => decideCas(
        () => this.store.edit(appId, chat, number, change, lease).then(applied_),
        async () => sends.settle(await this.store.find(appId, chat, number, true), mine)));
      if (applied) {
        return this.edited(intent, token, chat, { ...current, body: saved.inline, ref: saved.ref,
          history: change.history, version: current.version + 1, updatedAt: at });
      }
      await backOff(round);
    }
    throw conflict('the message is being changed');
  }

  /** `m.body` is the row's cell (what search indexes: the inline prefix of a large body). */
  private async edited(intent: Intent, token: string, chat: number, m: StoredMessage): Promise<StoredMessage> {
    this.feed({ kind: 'upsert', token, chat, number: m.number, body: m.body, version: m.version,
      created_at: m.createdAt, updated_at: m.updatedAt });
    await intent.after();
    return m;
  }

  /** Marks the message deleted (204): it reads and writes that one row only. */
  async delete(token: string, chat: number, number: number, cond: WriteConditions): Promise<void> {
    requireIfMatch(this.ifMatchRequired, cond);
    const appId = await this.chats.resolve(token, chat);
    const intent = new Intent(this.changes, (read) =>
      messageDeleted({ app: appId, token, chat }, number, read, Date.now()));
    // An earlier round's delete, re-sent and so answered "not applied", or landed after its read-back: it is
    // ours (its entry went first).
    const sends = new EarlierSends<StoredMessage, { version: number; at: Date }>((m, s) =>
      m.deletedAt?.getTime() === s.at.getTime(), 'chat_message_delete', true);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const row = await this.store.find(appId, chat, number);
      let done = sends.find(row);
      if (done === null) {
        const current = this.changeable(row, number, cond);
        await intent.before(current.version);
        const change = sends.sent({ version: current.version, at: new Date() });
        const applied = await intent.write(() => decideCas(
          () => this.store.delete(appId, chat, number, change, current.lease?.token ?? null).then(applied_),
          async () => sends.settle(await this.store.find(appId, chat, number, true), change)));
        if (applied) done = change;
      }
      if (done === null) await backOff(round);
      if (done !== null) {
        this.feed({ kind: 'delete', token, chat, number, version: deletedVersion(done.version), updated_at: done.at });
        await intent.after();
        return;
      }
    }
    throw conflict('the message is being changed');
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
  /** `entry(read)`: the change's entry, decided on the row read at version `read`. */
  constructor(private readonly changes: ChangeLog, private readonly entry: (read: number) => ChangeEntry) {}

  async before(read: number): Promise<void> {
    if (this.appended !== null) return;
    const entry = this.entry(read);
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
