import type { Db } from '../../storage/cassandra.js';
import type { Logger } from '../../logger.js';
import { LwtLock } from '../../storage/lwt-lock.js';
import { underLease } from '../../storage/lease-guard.js';
import { chatsStores, type ChatsStores } from '../../chats/data.js';
import { BUCKET_SIZE, numberBucket } from '../../chats/numbered.js';
import type { Application } from '../../chats/types.js';
import { allApplications, allChats } from '../../chats/walk-all.js';
import type { ChangeEvent } from '../../search/documents.js';
import { indexedVersions } from '../../search/indexed-versions.js';
import { messagesAlias } from '../../search/index-schema.js';
import type { Search } from '../../search/search.js';
import { searchReconcileRepaired } from '../../observability/search-metrics.js';
import { orderedReads } from './ordered-reads.js';
import { rowEvent } from './row-event.js';

export interface SearchReconcileSettings {
  holder: string;
  lockTtlSeconds: number;
  indexPrefix: string;
}

export interface ReconcileResult { applications: number; chats: number; repaired: number }

/** Rows re-read at once to repair a chat. */
const READ_WIDTH = 16;

/**
 * The search reconciliation, like the counts one: a change whose log entry was lost (an append that failed after
 * a write landed, a Paxos round completed after its bucket was walked) would otherwise leave a deleted or replaced
 * body searchable for good. For every chat it compares, one number range (1,000 messages) at a time, each row's
 * version (deleted rows included: no bodies read) with the version the index holds, and writes every row the index
 * is behind on as it is now: a document, or a tombstone for a deleted row. External versioning makes it safe next
 * to a running indexer. Afterwards the index holds each row's version, so search returns no deleted or superseded
 * body. Under one LWT lock per index, renewed as it goes (per range, not per application).
 */
export class SearchReconciler {
  private readonly stores: ChatsStores;
  private readonly alias: string;

  constructor(private readonly db: Db, private readonly search: Search, private readonly settings: SearchReconcileSettings,
    private readonly log: Logger) {
    this.stores = chatsStores(db);
    this.alias = messagesAlias(settings.indexPrefix);
  }

  /**
   * Reconciles every application (or the one of `token`); null when another process is reconciling this index.
   * `stop` ends it between two chats (shutdown); the next run starts over.
   */
  async reconcile(token?: string, stop?: AbortSignal): Promise<ReconcileResult | null> {
    const lock = new LwtLock(this.db, `search-reconcile:${this.settings.indexPrefix}`, this.settings.holder,
      this.settings.lockTtlSeconds);
    return underLease(lock, { name: lock.name, ttlSeconds: this.settings.lockTtlSeconds }, async (assertHeld) => {
      const result: ReconcileResult = { applications: 0, chats: 0, repaired: 0 };
      for await (const app of allApplications(this.stores, token)) {
        for await (const chat of allChats(this.stores, app.appId)) {
          if (stop?.aborted) return result;
          result.repaired += await this.reconcileChat(app, chat.number, assertHeld);
          result.chats += 1;
        }
        result.applications += 1;
      }
      return result;
    });
  }

  private async reconcileChat(app: Application, chat: number, assertHeld: () => Promise<void>): Promise<number> {
    const last = await this.stores.counters.lastNumber(app.appId, chat);
    let repaired = 0;
    for (let bucket = 0; last > 0 && bucket <= numberBucket(last); bucket++) {
      const rows = await this.stores.messages.versions(app.appId, chat, bucket);
      if (rows.length === 0) continue;
      const indexed = await indexedVersions(this.search.client, this.alias, app.token, chat, bucket * BUCKET_SIZE,
        (bucket + 1) * BUCKET_SIZE - 1);
      const behind = rows.filter((r) => (indexed.get(r.number) ?? 0) < r.version).map((r) => r.number);
      if (behind.length === 0) continue;
      await assertHeld();
      const written = await this.search.indexer.applyStream(this.rows(app, chat, behind));
      repaired += written.written;
      searchReconcileRepaired.inc(written.written);
      this.log.info({ token: app.token, chat, bucket, behind: behind.length, written: written.written },
        'search reconciliation repaired documents');
    }
    return repaired;
  }

  /** The rows of `numbers` as events, READ_WIDTH reads in flight (streamed into byte-bounded bulks). */
  private rows(app: Application, chat: number, numbers: number[]): AsyncGenerator<ChangeEvent> {
    return orderedReads(numbers, READ_WIDTH, async (number) => {
      const row = await this.stores.messages.find(app.appId, chat, number);
      return row === null ? null : rowEvent({ token: app.token, chat, number }, row);
    });
  }
}
