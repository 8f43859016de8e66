import type { Logger } from '../logger.js';
import type { BodyStore, ListedObject } from '../bodies/body-store.js';
import { MESSAGES, PROBES, parseKey } from '../bodies/keys.js';
import { retained, type HistoryRetention } from './message-history.js';
import type { ChatMessageStore } from './message-store.js';

export interface SweepSettings { orphanGraceMs: number; retention: HistoryRetention }

export interface SweepResult {
  /** Objects listed. */
  listed: number;
  /** Pointed to by a row (its current body or a retained version). */
  kept: number;
  /** Pointed to by nothing, but younger than the grace period (a write may be between its object and its row). */
  young: number;
  deleted: number;
  /** Messages whose row was read. */
  messages: number;
}

/**
 * Removes the objects no row points to: the loser of an editors' race, an upload whose row write failed or whose
 * process died before it, a retry's earlier upload, the versions a newer one pushed out of the history (count or
 * age), and every version of a deleted message. It lists the store by prefix against the rows rather than keeping
 * an upload-intent log: the objects are the truth of what exists (a log can miss an upload whose process died
 * before logging it, or list one that never landed), keys sort by message so one pass reads each message's row
 * once, and nothing is written on the request path for it. The cost is one listing of every object per pass (1,000
 * keys per LIST request) and one SERIAL row read per message that has objects.
 *
 * An object younger than the grace period is never removed: a write stores its object before the conditional
 * write that points the row to it, and gives up if that is more than half the grace period later (MessageBodies
 * .fresh). The row is read through Paxos (SERIAL), which completes a conditional write still in flight, so a row
 * that will point to an object is seen pointing to it. Passes may overlap (two processes): both decide from the
 * row, and deleting a deleted object is a no-op.
 */
export class BodySweeper {
  constructor(private readonly store: BodyStore, private readonly messages: ChatMessageStore,
    private readonly settings: SweepSettings, private readonly log: Logger) {}

  async sweep(now = Date.now()): Promise<SweepResult> {
    const result: SweepResult = { listed: 0, kept: 0, young: 0, deleted: 0, messages: 0 };
    let group: ListedObject[] = [];
    let groupOf: string | null = null;
    for await (const object of this.store.list(MESSAGES)) {
      result.listed += 1;
      const parsed = parseKey(object.key);
      const message = parsed ? `${parsed.appId}/${parsed.chat}/${parsed.number}` : null;
      if (message !== groupOf && group.length > 0) {
        await this.settle(group, now, result);
        group = [];
      }
      groupOf = message;
      if (message === null) {
        // Not a key this service writes: left alone (someone else's object under our prefix).
        this.log.warn({ key: object.key }, 'body sweeper: unknown object key, left alone');
        continue;
      }
      group.push(object);
    }
    if (group.length > 0) await this.settle(group, now, result);
    // Probes of the start-up check that a crash left behind.
    for await (const probe of this.store.list(PROBES)) {
      if (now - probe.lastModified.getTime() > this.settings.orphanGraceMs) await this.store.delete(probe.key);
    }
    this.log.info(result, 'body sweep done');
    return result;
  }

  /** One message's objects: those its row points to stay, the rest go once past the grace period. */
  private async settle(objects: ListedObject[], now: number, result: SweepResult): Promise<void> {
    const { appId, chat, number } = parseKey(objects[0]!.key)!;
    result.messages += 1;
    const row = await this.messages.find(appId, chat, number, true);
    const keep = new Set<string>();
    if (row !== null && row.deletedAt === null) {
      if (row.ref?.key) keep.add(row.ref.key);
      for (const e of retained(row.history, row.version, this.settings.retention, now)) if (e.key) keep.add(e.key);
    }
    for (const object of objects) {
      if (keep.has(object.key)) result.kept += 1;
      else if (now - object.lastModified.getTime() <= this.settings.orphanGraceMs) result.young += 1;
      else {
        await this.store.delete(object.key);
        result.deleted += 1;
      }
    }
  }
}
