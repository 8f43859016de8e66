import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createHash } from 'node:crypto';
import { AppError, notFound, unavailable } from '../errors.js';
import { firstIdAt, idTime } from '../ids/id-layout.js';
import { messagesConsumed, messagesCreated } from '../observability/metrics.js';
import type { MessageStore, Cursor } from './message-store.js';
import type { NewMessage, StoredMessage } from './message.js';

export interface IdSource { nextId(): number }
export interface Delivered { id: number; text: string }

/** How long a per-user row outlives its timeout: only lists read that table, and they skip expired rows. */
const USER_ROW_GRACE_SECONDS = 60;
/** Restarts of one read after losing the cursor race to a concurrent read of the same user. */
const MAX_CURSOR_RACES = 8;
/** Handled rows (expired or already delivered) skipped before a read moves the watermark past them anyway. */
const SKIP_COMMIT_THRESHOLD = 100;

/** The rules of the product: creation, lookup, and exactly-once consumption of a user's pending messages. */
export class MessageService {
  constructor(
    private readonly store: MessageStore,
    private readonly ids: IdSource,
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  async create(input: NewMessage): Promise<number> {
    const id = this.ids.nextId();
    await this.persist(id, input);
    return id;
  }

  /**
   * Create with an Idempotency-Key: a retry with the same key and body gets the first id back. The key is
   * claimed with one LWT before the message is written; a key whose first attempt died before storing its
   * message is re-pointed at a new id once that attempt can no longer be acknowledged (settle window).
   */
  async createIdempotent(input: NewMessage, key: string): Promise<{ id: number; replayed: boolean }> {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([input.username, input.text, input.timeout])).digest('base64url');
    const ttl = this.config.IDEMPOTENCY_TTL_SECONDS;
    const id = this.ids.nextId();
    const claim = await this.store.claimIdempotencyKey(key, id, fingerprint, ttl);
    if (!claim.applied) {
      if (claim.fingerprint !== fingerprint) {
        throw new AppError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request body');
      }
      if (await this.store.findById(claim.id)) return { id: claim.id, replayed: true };
      const firstAttemptOver = Date.now() - idTime(claim.id) > this.config.DELIVERY_SETTLE_MS;
      if (!firstAttemptOver || !(await this.store.retargetIdempotencyKey(key, claim.id, id, ttl))) {
        throw new AppError(409, 'idempotency_key_in_progress', 'a request with this Idempotency-Key is in progress; retry',
          { 'retry-after': '1' });
      }
    }
    await this.persist(id, input);
    return { id, replayed: false };
  }

  private async persist(id: number, input: NewMessage): Promise<void> {
    const createdAt = idTime(id);
    const expiresAt = new Date(createdAt + input.timeout * 1000);
    await this.store.insert({ id, username: input.username, text: input.text, expiresAt },
      input.timeout + this.config.HOT_GRACE_SECONDS, input.timeout + USER_ROW_GRACE_SECONDS);
    // A write acknowledged later than the settle window might sit below a reader's watermark already:
    // refuse to acknowledge it, so "acknowledged" always implies "deliverable".
    if (Date.now() - createdAt > this.config.DELIVERY_SETTLE_MS - 500) {
      this.log.warn({ id }, 'write settled too late; not acknowledged');
      throw unavailable('write took too long; retry');
    }
    messagesCreated.inc();
  }

  async get(id: number): Promise<StoredMessage> {
    const m = await this.store.findById(id);
    if (!m) throw notFound(`no message with id ${id}`);
    return m;
  }

  /**
   * Yields the user's unexpired messages, oldest first, in committed batches. Each batch is claimed by one
   * compare-and-set of the user's delivery cursor (watermark + ids delivered above it), then written to cold.
   * Ids at or below `now - settle window` are final (every acknowledged write is visible by then), so the
   * watermark never passes a message that could still appear; ids above it are remembered in `recent`.
   */
  async *consume(username: string, opts: { traceQuery?: boolean; onTrace?: (id: string) => void } = {}):
    AsyncGenerator<Delivered[]> {
    const pageSize = this.config.LIST_PAGE_SIZE;
    let races = 0;
    restart: for (;;) {
      let cursor: Cursor = await this.store.readCursor(username);
      const now = Date.now();
      const settled = firstIdAt(now - this.config.DELIVERY_SETTLE_MS) - 1;
      const scanFrom = cursor.watermark;
      let pageState: string | undefined;
      let skipped = 0;
      do {
        const page = await this.store.readPending(username, scanFrom, pageSize, pageState, opts.traceQuery);
        if (page.traceId && opts.onTrace) opts.onTrace(String(page.traceId));
        pageState = page.pageState;
        const due = page.rows.filter((r) => !cursor.recent.has(r.id) && r.expiresAt.getTime() > now);
        skipped += page.rows.length - due.length;
        const last = page.rows.at(-1);
        if (!last) continue;
        const watermark = Math.max(cursor.watermark, Math.min(last.id, settled));
        const recent = new Set([...cursor.recent, ...due.map((r) => r.id)].filter((id) => id > watermark));
        // Nothing to deliver: commit only to stop later reads re-scanning handled rows (delivered ids that have
        // settled, or many expired ones); otherwise a read of an idle user costs no write at all.
        if (due.length === 0
          && (watermark === cursor.watermark || (recent.size >= cursor.recent.size && skipped < SKIP_COMMIT_THRESHOLD))) {
          continue;
        }

        if (!(await this.store.advanceCursor(username, cursor, watermark, recent))) {
          if (++races > MAX_CURSOR_RACES) return;
          continue restart;
        }
        cursor = { version: cursor.version + 1, watermark, recent };
        skipped = 0;
        if (due.length === 0) continue;
        try {
          await this.store.markConsumed(due.map((r) => ({ ...r, username })), new Date(now), this.config.HOT_GRACE_SECONDS);
        } catch (err) {
          // Claimed is claimed: deliver anyway. The hot rows stay until the archiver sweeps them at their timeout.
          this.log.warn({ err: (err as Error).message, count: due.length }, 'cold copy of consumed messages failed');
        }
        messagesConsumed.inc(due.length);
        yield due.map((r) => ({ id: r.id, text: r.text }));
      } while (pageState);
      return;
    }
  }
}
