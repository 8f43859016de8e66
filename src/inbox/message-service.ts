import type { Logger } from '../logger.js';
import { createHash } from 'node:crypto';
import { AppError, idempotencyKeyReused, notFound, unavailable } from '../errors.js';
import { firstIdAt, idTime } from '../ids/id-layout.js';
import { messagesConsumed, messagesCreated } from '../observability/metrics.js';
import type { InboxStores } from './stores.js';
import type { NewMessage, StoredMessage } from './message.js';
import { decidePage, type Cursor } from './delivery-decision.js';
import { CursorCache } from './cursor-cache.js';
import { sleep } from '../async.js';
import { rowsForBudget } from '../storage/walk-arithmetic.js';
import type { Clock } from '../clock.js';

export interface IdSource { nextId(): number }
export interface Delivered { id: number; text: string }

/** The settings the inbox rules use (and nothing else of the configuration; settings.ts maps them). */
export interface InboxSettings {
  /** DELIVERY_SETTLE_MS: how long after its id's time a message may still appear in a list. */
  settleMs: number;
  /** ackDeadlineMs (config.ts): the settle window minus MAX_CLOCK_SKEW_MS minus a margin. */
  ackDeadlineMs: number;
  /** HOT_GRACE_SECONDS and USER_ROW_GRACE_SECONDS: how long hot rows outlive a message's timeout. */
  hotGraceSeconds: number;
  userRowGraceSeconds: number;
  /** IDEMPOTENCY_TTL_SECONDS. */
  idempotencyTtlSeconds: number;
  /** LIST_PAGE_SIZE and LIST_PAGE_BYTES: a list page's rows and bytes. */
  pageRows: number;
  pageBytes: number;
}
/** Restarts of one read after losing the cursor race to a concurrent read of the same user. */
const MAX_CURSOR_RACES = 8;
/** Extra tries of a claimed page's cold copy (idempotent writes) before it is left to the archiver. */
const CONSUMED_COPY_RETRIES = 2;
/** The first page of a read asks for this many rows; later pages are sized from the bytes per row seen. */
const FIRST_FETCH_ROWS = 50;

/** The rules of the product: creation, lookup, and exactly-once consumption of a user's pending messages. */
export class MessageService {
  /** Cursors this process last saw: an empty list reads one page and no cursor (see CursorCache). */
  private readonly cursors = new CursorCache();

  constructor(
    private readonly store: InboxStores,
    private readonly ids: IdSource,
    private readonly settings: InboxSettings,
    private readonly log: Logger,
    private readonly now: Clock = Date.now,
  ) {}

  async create(input: NewMessage): Promise<number> {
    const id = this.ids.nextId();
    await this.persist(id, input);
    return id;
  }

  /**
   * Create with an Idempotency-Key: a retry with the same key and body gets the first id back, but only once that
   * id is certainly listable. The key is claimed with one LWT before the message is written. A retry inside the
   * acknowledgement deadline re-drives the same id (every write is an upsert); past the settle window it replays a
   * first message that was read or has timed out, and otherwise fences the first id out of lists for good and
   * re-points the key at a new id; in between it answers 409.
   */
  async createIdempotent(input: NewMessage, key: string): Promise<{ id: number; replayed: boolean }> {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([input.username, input.text, input.timeout])).digest('base64url');
    const ttl = this.settings.idempotencyTtlSeconds;
    const id = this.ids.nextId();
    const claim = await this.store.keys.claim(key, id, fingerprint, ttl);
    if (claim.applied) {
      await this.persist(id, input);
      return { id, replayed: false };
    }
    if (claim.fingerprint !== fingerprint) {
      throw idempotencyKeyReused();
    }
    const first = claim.id;
    if (await this.listable(input.username, first)) return { id: first, replayed: true };
    const age = this.now() - idTime(first);
    if (age <= this.settings.ackDeadlineMs) {
      await this.persist(first, input);
      return { id: first, replayed: true };
    }
    if (age <= this.settings.settleMs) {
      throw new AppError(409, 'idempotency_key_in_progress', 'a request with this Idempotency-Key is in progress; retry',
        { 'retry-after': '1' });
    }
    // The per-user row lives only timeout + USER_ROW_GRACE_SECONDS, the key a day: a first message that a read
    // delivered, or whose timeout passed, is final. A new id would deliver the text twice, or after its time.
    if (await this.final(first)) return { id: first, replayed: true };
    // The first attempt can neither be acknowledged nor send its per-user row any more (it checks the deadline
    // before that write, on its own clock, and that write carries its clock's timestamp): fence it out, then move.
    await this.store.messages.fenceUserRow(input.username, first, idTime(first) + this.settings.settleMs,
      input.timeout + this.settings.userRowGraceSeconds);
    if (!(await this.store.keys.retarget(key, first, id, fingerprint, ttl))) {
      throw new AppError(409, 'idempotency_key_in_progress', 'a request with this Idempotency-Key is in progress; retry',
        { 'retry-after': '1' });
    }
    await this.persist(id, input);
    return { id, replayed: false };
  }

  /**
   * Whether a keyed create's first id may be answered as stored: its per-user row exists (and is not a fence),
   * and it either landed in time (we are still inside the deadline), or no read has passed it yet, or a read
   * delivered it.
   */
  private async listable(username: string, id: number): Promise<boolean> {
    const writtenAt = await this.store.messages.userRowWrittenAt(username, id);
    if (writtenAt === null || writtenAt - idTime(id) > this.settings.ackDeadlineMs) return false;
    if (this.now() - idTime(id) <= this.settings.ackDeadlineMs) return true;
    const cursor = await this.store.cursors.readCursor(username);
    return cursor.watermark < id || cursor.recent.has(id) || (await this.store.messages.wasConsumed(id));
  }

  /**
   * Whether a message was consumed by a read or has timed out: `findById` answers the read time as its expiry once
   * consumed (hot `consumed_at`, or a cold row), so both show as an expiry at or before now.
   */
  private async final(id: number): Promise<boolean> {
    const m = await this.store.messages.findById(id);
    return m !== null && m.expiresAt.getTime() <= this.now();
  }

  private async persist(id: number, input: NewMessage): Promise<void> {
    const createdAt = idTime(id);
    const expiresAt = new Date(createdAt + input.timeout * 1000);
    // A write acknowledged later than the deadline might sit below a reader's watermark already: refuse to
    // acknowledge it, and do not even send the per-user row once the deadline passed, so that a retry of the same
    // key can fence this id out of lists with a later write timestamp.
    const inTime = () => {
      if (this.now() - createdAt > this.settings.ackDeadlineMs) {
        this.log.warn({ id }, 'write settled too late; not acknowledged');
        throw unavailable('write took too long; retry');
      }
    };
    await this.store.messages.insert({ id, username: input.username, text: input.text, expiresAt },
      input.timeout + this.settings.hotGraceSeconds, input.timeout + this.settings.userRowGraceSeconds, inTime);
    inTime();
    messagesCreated.inc();
  }

  /**
   * The cold copy of a claimed page, with its read time. Cold writes carry fixed timestamps, so a retry is harmless:
   * two more tries ride out a transient timeout. Claimed is claimed: if all fail the page is delivered anyway, and
   * the archiver files those messages at their timeout instead of their read time.
   */
  private async recordConsumed(messages: StoredMessage[], at: Date): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store.cold.markConsumed(messages, at, this.settings.hotGraceSeconds);
        return;
      } catch (err) {
        if (attempt < CONSUMED_COPY_RETRIES) {
          await sleep(100 * (attempt + 1));
          continue;
        }
        this.log.warn({ err: (err as Error).message, count: messages.length }, 'cold copy of consumed messages failed');
        return;
      }
    }
  }

  async get(id: number): Promise<StoredMessage> {
    const m = await this.store.messages.findById(id);
    if (!m) throw notFound(`no message with id ${id}`);
    return m;
  }

  /**
   * Yields the user's unexpired messages, oldest first, in committed batches. Each batch is claimed by one
   * compare-and-set of the user's delivery cursor (watermark + ids delivered above it), then written to cold.
   * Every page takes its own time just before it is read: ids at or below `pageNow - settle window` are final
   * (every acknowledged write is visible by then), so the watermark never passes a message that could still
   * appear. Pages are sized by bytes (LIST_PAGE_BYTES), so a read holds at most about one page of text.
   * A storage failure after the first batch throws: the caller must then not present the list as complete.
   */
  async *consume(username: string): AsyncGenerator<Delivered[]> {
    const { pageRows: maxRows, pageBytes: maxBytes, settleMs: settle } = this.settings;
    let races = 0;
    let fetchRows = Math.min(FIRST_FETCH_ROWS, maxRows);
    // A cursor this process remembers saves the cursor read of a list that finds nothing (make bench-statements:
    // list-empty 2 -> 1 statements). It may be stale (another process moved the row on), so before it decides a
    // claim the row is read after all, which is the read the list would have started with: no list costs more.
    let remembered = this.cursors.get(username);
    restart: for (;;) {
      let checked = remembered === undefined;
      let cursor: Cursor = remembered ?? await this.readCursor(username);
      remembered = undefined;
      const scanFrom = cursor.watermark;
      let pageState: string | undefined;
      let skipped = 0;
      do {
        const pageNow = this.now();
        const settled = firstIdAt(pageNow - settle) - 1;
        const page = await this.store.messages.readPending(username, scanFrom, fetchRows, pageState);
        pageState = page.pageState;
        if (page.rows.length > 0) fetchRows = rowsForBudget(page.bytes, page.rows.length, maxBytes, maxRows);
        // Only rows above the cursor's watermark are candidates: a no-op for a scan that started there, the rule
        // for one that started from a remembered watermark which the stored cursor has passed since.
        const above = (c: Cursor) => page.rows.filter((r) => r.id > c.watermark);
        let decision = decidePage(cursor, above(cursor), settled, pageNow, skipped);
        if (decision.next && !checked) {
          checked = true;
          const stored = await this.readCursor(username);
          if (stored.version !== cursor.version || stored.claim !== cursor.claim) {
            // Moved on since remembered (a different claim is a different write): decide this page again from
            // the row as stored, as a scan from its watermark would have. The compare-and-set below still guards
            // against any move after this read.
            cursor = stored;
            decision = decidePage(cursor, above(cursor), settled, pageNow, 0);
          }
        }
        skipped = decision.skipped;
        if (!decision.next) continue;
        const { watermark, recent } = decision.next;
        const next = await this.advanceCursor(username, cursor, watermark, recent);
        if (next === null) {
          // Every lost race means another read claimed those messages: after a few, stop with what this read
          // claimed. Nothing is lost: what no read claimed stays pending.
          if (++races > MAX_CURSOR_RACES) return;
          continue restart;
        }
        cursor = next;
        skipped = 0;
        const { due } = decision;
        if (due.length === 0) continue;
        await this.recordConsumed(due.map((r) => ({ ...r, username })), new Date(pageNow));
        messagesConsumed.inc(due.length);
        yield due.map((r) => ({ id: r.id, text: r.text }));
      } while (pageState);
      return;
    }
  }

  /** The stored cursor, remembered as this process's latest knowledge of it. */
  private async readCursor(username: string): Promise<Cursor> {
    const cursor = await this.store.cursors.readCursor(username);
    this.cursors.set(username, cursor);
    return cursor;
  }

  /** A claim; the stored cursor after it is remembered, and a lost or open claim forgets what this process knew. */
  private async advanceCursor(username: string, from: Cursor, watermark: number, recent: Set<number>):
    Promise<Cursor | null> {
    this.cursors.delete(username);
    const next = await this.store.cursors.advanceCursor(username, from, watermark, recent);
    if (next) this.cursors.set(username, next);
    return next;
  }
}
