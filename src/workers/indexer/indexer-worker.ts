import type { Db } from '../../storage/cassandra.js';
import type { Logger } from '../../logger.js';
import type { ConsumeResult } from '../../storage/bucketed-log.js';
import type { ChangeLog } from '../../chats/changes.js';
import { chatsData } from '../../chats/data.js';
import type { ChatMessageStore } from '../../chats/message-store.js';
import type { ChangeEntry } from '../../chats/types.js';
import { orderedReads } from './ordered-reads.js';
import { rowEvent } from './row-event.js';
import { docId, type ChangeEvent } from '../../search/documents.js';
import type { ApplyResult, MessageIndexer } from '../../search/message-indexer.js';
import { searchDocsApplied } from '../../observability/search-metrics.js';

export interface IndexerSettings {
  holder: string;
  lockTtlSeconds: number;
  logRetentionSeconds: number;
  /** MAX_CLOCK_SKEW_MS: the change log's settle time follows it. */
  maxClockSkewMs: number;
  /** The consumer's name in the change log: one checkpoint per index (prefix), so two indices never share one. */
  consumer: string;
}

/**
 * A consumer without a checkpoint starts an hour back (360 ten-second buckets); older history is `ephemera
 * reindex`'s. Unlike the counts consumer it never skips ahead: a skipped entry would stay unsearchable.
 */
const BACKLOG_BUCKETS = 360;
/** Message rows read from Cassandra at once while preparing a slice. */
const READ_WIDTH = 16;

export const indexerConsumer = (indexPrefix: string) => `search-indexer:${indexPrefix}`;

/**
 * The search indexer: walks the chat change log (its own checkpoint) and applies the message entries of each
 * slice of a settled bucket (byte-bounded, one shard's) to the search index. Every message entry is applied as
 * the message row Cassandra holds now: a live row at its version, a deleted row as a tombstone at its version.
 * External versioning makes replays
 * (slices repeated after a crash), duplicates and out-of-order entries harmless, and document ids are
 * (token, chat, number), so nothing is ever indexed twice. When OpenSearch is unavailable a slice's apply
 * throws, the checkpoint and the shard's progress stay where they were, and the next pass repeats the slice.
 */
export class SearchIndexerWorker {
  readonly changes: ChangeLog;
  private readonly messages: ChatMessageStore;
  private prepared = false;

  /**
   * `prepare` runs before the first pass until it succeeds: the search migration, so an index that `ephemera
   * migrate` could not create (OpenSearch was down) or that was lost is created by the indexer itself.
   */
  constructor(db: Db, private readonly indexer: MessageIndexer, private readonly settings: IndexerSettings,
    private readonly log: Logger, private readonly prepare: () => Promise<unknown> = async () => undefined) {
    const data = chatsData(db, settings);
    this.changes = data.changes;
    this.messages = data.messages;
  }

  async consumeLog(now?: number): Promise<ConsumeResult | null> {
    if (!this.prepared) {
      await this.prepare();
      this.prepared = true;
    }
    return this.changes.consume(this.settings.consumer, async (entries) => { await this.applyEntries(entries); }, {
      holder: this.settings.holder, lockTtlSeconds: this.settings.lockTtlSeconds, now, backlogBuckets: BACKLOG_BUCKETS,
    });
  }

  async lagSeconds(now = Date.now()): Promise<number | null> {
    const done = await this.changes.checkpoint(this.settings.consumer);
    return done === null ? null : this.changes.lagSeconds(done, now);
  }

  /**
   * Applies one slice's entries; throws (AppError 503) when OpenSearch cannot take them now. Entries whose version
   * the index already holds (or a newer one) are skipped: the fast path delivered them seconds ago, and reading
   * their rows and sending them again only to be refused as stale would compete with it, most of all after an
   * outage, when the two paths drain the same backlog (one _mget per 1,000 entries instead of 1,000 row reads
   * and a bulk). The others' rows are read READ_WIDTH at a time and streamed into byte-bounded bulks: one shard
   * holds at most one bulk (4 MiB) and READ_WIDTH rows, not a slice's 1,000 bodies (64 MiB with 64 KiB bodies,
   * × 8 shards walked in parallel).
   */
  async applyEntries(entries: ChangeEntry[]): Promise<ApplyResult & { skipped: number }> {
    const latest = latestPerMessage(entries);
    const held = await this.indexer.heldVersions(latest.map(entryKey));
    const behind = latest.filter((e) => {
      if ((held.get(docId(entryKey(e))) ?? -1) < e.version) return true;
      searchDocsApplied.inc({ kind: e.op, result: 'held' });
      return false;
    });
    const result = { ...await this.indexer.applyStream(this.events(behind)), skipped: latest.length - behind.length };
    // A permanent refusal (a mapping error) would refuse again on every retry: logged by the indexer, not retried.
    if (result.written + result.stale + result.failed.length > 0) {
      this.log.debug({ entries: entries.length, ...result, failed: result.failed.length }, 'search index updated');
    }
    return result;
  }

  /** The entries' rows as events, in entry order, with READ_WIDTH reads in flight. */
  private events(entries: ChangeEntry[]): AsyncGenerator<ChangeEvent> {
    return orderedReads(entries, READ_WIDTH, (e) => this.toEvent(e));
  }

  /**
   * The row as Cassandra holds it now, whatever the entry says (entries are intents written before their write,
   * which may not have applied): a live row is indexed at its version, a deleted one becomes a tombstone at its
   * version (the delete's), a missing one (an insert that never applied) is skipped.
   */
  private async toEvent(e: ChangeEntry): Promise<ChangeEvent | null> {
    const key = entryKey(e);
    const row = await this.messages.find(e.app, e.chat, e.message);
    return row === null ? null : rowEvent(key, row);
  }
}

const entryKey = (e: ChangeEntry) => ({ token: e.token, chat: e.chat, number: e.message });

/**
 * Message entries only, one per message: the highest version (a delete beats an upsert of the same version).
 * The row is read once per message however many entries a slice holds for it.
 */
export function latestPerMessage(entries: ChangeEntry[]): ChangeEntry[] {
  const latest = new Map<string, ChangeEntry>();
  for (const e of entries) {
    if (e.entity !== 'message') continue;
    const key = `${e.app}/${e.chat}/${e.message}`;
    const seen = latest.get(key);
    if (!seen || e.version > seen.version || (e.version === seen.version && e.op === 'delete')) latest.set(key, e);
  }
  return [...latest.values()];
}
