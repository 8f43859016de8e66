import type { Db } from '../../storage/cassandra.js';
import type { Logger } from '../../logger.js';
import { LwtLock } from '../../storage/lwt-lock.js';
import { underLease } from '../../storage/lease-guard.js';
import type { ConsumeResult } from '../../storage/bucketed-log.js';
import type { ChangeLog } from '../../chats/changes.js';
import { chatsData, type ChatsData } from '../../chats/data.js';
import { APP_SCOPE, numberBucket } from '../../chats/numbered.js';
import { allApplications, chatPages } from '../../chats/walk-all.js';
import type { ChangeEntry } from '../../chats/types.js';
import { countsRecounted } from '../../observability/chat-metrics.js';
import { inParallel } from '../../async.js';

export interface CountsSettings {
  holder: string;
  lockTtlSeconds: number;
  logRetentionSeconds: number;
  /** MAX_CLOCK_SKEW_MS: the change log's settle time follows it. */
  maxClockSkewMs: number;
}

export const CONSUMER = 'counts';
/** Parents recounted at once. */
const WIDTH = 16;
/** A consumer without a checkpoint starts an hour back (360 ten-second buckets); older history is the reconciliation's. */
const BACKLOG_BUCKETS = 360;

interface Target { app: string; scope: number; buckets: Set<number> }

/**
 * chats_count and messages_count, derived and exact once settled. Both passes recount rows from the source
 * partitions (never add or subtract), so repeating one is harmless and a lost change entry is repaired by
 * the next reconciliation:
 * - `consumeLog`: for each slice of a settled bucket of the change log, recount the number ranges its entries
 *   touched;
 * - `reconcile`: recount every number range of every application and chat.
 */
export class CountsWorker {
  readonly changes: ChangeLog;
  private readonly data: ChatsData;

  constructor(private readonly db: Db, private readonly settings: CountsSettings, private readonly log: Logger) {
    this.data = chatsData(db, settings);
    this.changes = this.data.changes;
  }

  consumeLog(now?: number): Promise<ConsumeResult | null> {
    return this.changes.consume(CONSUMER, (entries) => this.recountTouched(entries), {
      holder: this.settings.holder, lockTtlSeconds: this.settings.lockTtlSeconds, now,
      // Further behind than an hour, the reconciliation (at start and at least hourly) has that history.
      backlogBuckets: BACKLOG_BUCKETS, maxBehindBuckets: BACKLOG_BUCKETS,
    });
  }

  async lagSeconds(now = Date.now()): Promise<number | null> {
    const done = await this.changes.checkpoint(CONSUMER);
    return done === null ? null : this.changes.lagSeconds(done, now);
  }

  /** Recounts everything; null when another process is reconciling. */
  async reconcile(): Promise<{ applications: number; chats: number } | null> {
    const lock = new LwtLock(this.db, 'counts-reconcile', this.settings.holder, this.settings.lockTtlSeconds);
    // Checked before every parent's recount (renewing once a third of the TTL has passed): one application with
    // 50k chats, or a few very long chats, takes longer than the 30 s lock, and a renewal per application would
    // find the lock lost and abort every reconciliation there, leaving the applications after it never recounted.
    return underLease(lock, { name: lock.name, ttlSeconds: this.settings.lockTtlSeconds }, async (held) => {
      let applications = 0;
      let chats = 0;
      for await (const app of allApplications(this.data)) {
        await held();
        const lastChat = await this.data.counters.lastNumber(app.appId, APP_SCOPE);
        await this.recount('reconcile', app.appId, APP_SCOPE, rangeBuckets(lastChat));
        for await (const page of chatPages(this.data, app.appId, lastChat)) {
          await inParallel(page, WIDTH, async (chat) => {
            await held();
            const lastMessage = await this.data.counters.lastNumber(app.appId, chat.number);
            await this.recount('reconcile', app.appId, chat.number, rangeBuckets(lastMessage));
          });
          chats += page.length;
        }
        applications += 1;
      }
      return { applications, chats };
    });
  }

  private async recountTouched(entries: ChangeEntry[]): Promise<void> {
    const targets = new Map<string, Target>();
    for (const e of entries) {
      const scope = e.entity === 'chat' ? APP_SCOPE : e.chat;
      const key = `${e.app}/${scope}`;
      const t = targets.get(key) ?? { app: e.app, scope, buckets: new Set<number>() };
      t.buckets.add(numberBucket(e.entity === 'chat' ? e.chat : e.message));
      targets.set(key, t);
    }
    await inParallel([...targets.values()], WIDTH, (t) => this.recount('log', t.app, t.scope, [...t.buckets]));
  }

  /** Recounts the given ranges of one parent, then its total; written with the time the count started. */
  private async recount(kind: string, app: string, scope: number, buckets: number[]): Promise<void> {
    const at = new Date();
    await inParallel(buckets, WIDTH, async (bucket) => {
      await this.data.counts.writeRange(app, scope, bucket, await this.data.counts.countRange(app, scope, bucket), at);
    });
    countsRecounted.inc({ kind }, buckets.length);
    await this.data.counts.writeTotal(app, scope, await this.data.counts.sumRanges(app, scope), at);
  }
}

const rangeBuckets = (last: number): number[] =>
  last < 1 ? [] : Array.from({ length: numberBucket(last) + 1 }, (_, i) => i);

