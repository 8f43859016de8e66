import type { Logger } from '../logger.js';
import { searchBulkErrors, searchDocsApplied } from '../observability/search-metrics.js';
import {
  checkEvent, docId, liveSource, tombstoneSource, type ChangeEvent, type MessageDoc, type MessageKey,
} from './documents.js';
import { heldVersions } from './indexed-versions.js';
import { errorReason, searchUnavailable, type OpenSearchClient } from './opensearch-client.js';

/**
 * One _bulk request carries at most this many bytes (OpenSearch accepts 100 MB; a few MB keeps a request well
 * under the bulk timeout on a small node) and this many items.
 */
const BULK_MAX_BYTES = 4 * 1024 * 1024;
const BULK_MAX_ITEMS = 1000;

export type Refresh = false | true | 'wait_for';
export interface ApplyResult {
  /** Documents that took this version. */
  written: number;
  /** Events refused because the index already holds this or a newer version (replays, late deliveries). */
  stale: number;
  /** Permanent refusals (e.g. a mapping error); transient ones throw instead. */
  failed: Array<{ id: string; status: number; reason: string }>;
}

interface BulkItem { status: number; error?: { type?: string; reason?: string } }
interface BulkResponse { errors: boolean; items: Array<Record<string, BulkItem>> }

/**
 * Writes messages into the search index through `_bulk` with external versioning: a document is replaced only
 * by a strictly higher version, so replays and out-of-order delivery can never bring back an older body, and a
 * delete (a tombstone with the delete's version) is never undone by a late upsert.
 */
export class MessageIndexer {
  /** `bulkTimeoutMs`: each bulk's timeout, instead of the client's bulk timeout (the fast path's fresh lane: 2 s). */
  constructor(private readonly client: OpenSearchClient, private readonly alias: string, private readonly log: Logger,
    private readonly bulkTimeoutMs = client.options.bulkTimeoutMs) {}

  indexMessages(docs: MessageDoc[], refresh: Refresh = false): Promise<ApplyResult> {
    return this.applyChanges(docs.map((d) => ({ kind: 'upsert' as const, ...d })), refresh);
  }

  deleteMessages(keys: MessageKey[], refresh: Refresh = false): Promise<ApplyResult> {
    return this.applyChanges(keys.map((k) => ({ kind: 'delete' as const, ...k })), refresh);
  }

  /** Makes every write acknowledged so far searchable now, not at the next refresh interval. */
  async refresh(): Promise<void> {
    await this.client.request('refresh', 'POST', `/${this.alias}/_refresh`, undefined, { timeoutMs: this.bulkTimeoutMs });
  }

  /** The version the index holds (as of its last refresh) for each of these messages that it has. */
  heldVersions(keys: Array<{ token: string; chat: number; number: number }>): Promise<Map<string, number>> {
    return heldVersions(this.client, this.alias, keys.map(docId));
  }

  /**
   * Applies change events idempotently. Throws AppError 503 when OpenSearch is unavailable or rejects items for
   * load (429/5xx): the caller retries the same events, which is safe. Events are validated first, so a malformed
   * one throws before anything is written.
   */
  async applyChanges(changes: ChangeEvent[], refresh: Refresh = false): Promise<ApplyResult> {
    changes.forEach(checkEvent);
    return this.applyStream(changes, refresh);
  }

  /**
   * Applies events as they come: each is serialised into the bulk being filled, which is sent once the next
   * event would take it over BULK_MAX_BYTES (or BULK_MAX_ITEMS), so a caller streaming rows holds one bulk
   * (≤ 4 MiB) and the event in hand, whatever the source's size. An invalid event throws when it comes: bulks
   * before it are written.
   */
  async applyStream(changes: AsyncIterable<ChangeEvent> | Iterable<ChangeEvent>, refresh: Refresh = false,
    maxItems = BULK_MAX_ITEMS): Promise<ApplyResult> {
    const result: ApplyResult = { written: 0, stale: 0, failed: [] };
    let lines: string[] = [];
    let kinds: ChangeEvent['kind'][] = [];
    let bytes = 0;
    const flush = async () => {
      if (lines.length === 0) return;
      await this.sendBulk(lines, kinds, refresh, result);
      lines = []; kinds = []; bytes = 0;
    };
    for await (const e of changes) {
      checkEvent(e);
      // require_alias: without the alias (search not migrated yet) OpenSearch would auto-create a concrete index of
      // that name with guessed mappings, which would then block the alias for good.
      const action = JSON.stringify({
        index: { _index: this.alias, _id: docId(e), version: e.version, version_type: 'external', require_alias: true },
      });
      const source = JSON.stringify(e.kind === 'upsert' ? liveSource(e as MessageDoc) : tombstoneSource(e));
      const size = Buffer.byteLength(action) + Buffer.byteLength(source) + 2;
      if (lines.length > 0 && (bytes + size > BULK_MAX_BYTES || kinds.length >= maxItems)) await flush();
      lines.push(action, source);
      kinds.push(e.kind);
      bytes += size;
    }
    await flush();
    return result;
  }

  /**
   * Writes every message of an async source (a Cassandra scan): live messages (documents, or upsert events) and
   * deleted ones (delete events, written as tombstones), streamed in bulks of at most `batchSize` items and
   * BULK_MAX_BYTES; returns the totals.
   */
  reindex(messages: AsyncIterable<MessageDoc | ChangeEvent>, batchSize = 500): Promise<ApplyResult> {
    async function* events(): AsyncGenerator<ChangeEvent> {
      for await (const m of messages) yield 'kind' in m ? m : { kind: 'upsert', ...m };
    }
    return this.applyStream(events(), false, batchSize);
  }

  private async sendBulk(lines: string[], kinds: ChangeEvent['kind'][], refresh: Refresh, result: ApplyResult) {
    const query = refresh === false ? '' : `?refresh=${refresh}`;
    const res = await this.client.request<BulkResponse>('bulk', 'POST', `/_bulk${query}`, undefined, {
      ndjson: `${lines.join('\n')}\n`, timeoutMs: this.bulkTimeoutMs,
    });
    let transient = 0;
    const failed: ApplyResult['failed'] = [];
    res.body.items.forEach((entry, i) => {
      const item = Object.values(entry)[0]!;
      const kind = kinds[i]!;
      if (item.status < 300) {
        result.written++;
        searchDocsApplied.inc({ kind, result: 'written' });
      } else if (item.status === 409) {
        // version_conflict_engine_exception: the index holds this or a newer version already.
        result.stale++;
        searchDocsApplied.inc({ kind, result: 'stale' });
      } else {
        searchBulkErrors.inc({ type: item.error?.type ?? String(item.status) });
        // 404: the alias is missing until migrateSearch runs; like load shedding, a retry later succeeds.
        if (item.status === 429 || item.status === 404 || item.status >= 500) transient++;
        else failed.push({ id: JSON.parse(lines[2 * i]!).index._id, status: item.status, reason: errorReason(item) });
      }
    });
    if (failed.length > 0) {
      this.log.error({ count: failed.length, first: failed.slice(0, 5) }, 'search index refused documents');
      result.failed.push(...failed);
    }
    if (transient > 0) {
      throw searchUnavailable(`search index rejected ${transient} of ${kinds.length} documents (load, or not migrated); retry`);
    }
  }
}
