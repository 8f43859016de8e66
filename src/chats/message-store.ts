import type { Db, Row, Params } from '../storage/cassandra.js';
import { num } from '../storage/cassandra.js';
import type { Scanned } from './client-page.js';
import { numberBucket } from './numbered.js';
import { decodeHistory, encodeHistory, type VersionEntry } from './message-history.js';
import type { BodyRef, ChatMessage, StoredMessage } from './types.js';

const COLUMNS = 'number, body, version, created_at, updated_at, body_key, body_digest, body_size';
const ALL = `${COLUMNS}, deleted_at, lease_token, lease_expires_at, history`;
export const KEY = 'app_id = ? AND chat_number = ? AND bucket = ? AND number = ?';

/** The row's body facts; '' is "none" (a delete writes '' rather than null: no cell tombstones). */
const refOf = (r: Row): BodyRef | null => {
  const digest = (r.get('body_digest') as string | null | undefined) || null;
  if (digest === null) return null;
  return { key: (r.get('body_key') as string | null | undefined) || null, digest, size: r.get('body_size') as number };
};

export const toMessage = (r: Row): StoredMessage => {
  const token = (r.get('lease_token') as string | null | undefined) ?? null;
  return {
    ref: refOf(r), history: decodeHistory(r.get('history') as string | null | undefined),
    number: num(r.get('number')), body: r.get('body') as string, version: r.get('version') as number,
    createdAt: r.get('created_at') as Date, updatedAt: r.get('updated_at') as Date,
    deletedAt: (r.get('deleted_at') as Date | null | undefined) ?? null,
    lease: token ? { token, expiresAt: r.get('lease_expires_at') as Date } : null,
  };
};

/** The primary key of one message, in KEY's order. */
export const keyOf = (appId: string, chat: number, number: number): Params => [appId, chat, numberBucket(number), number];

/** What a not-applied conditional write found (its condition columns); `version` null = no such row. */
export interface CasMiss { version: number | null; lease: string | null; deleted: boolean }
export type CasResult = { applied: true } | ({ applied: false } & CasMiss);

export const casResult = (row: Row): CasResult => row.get('[applied]') as boolean
  ? { applied: true }
  : {
    applied: false, version: (row.get('version') as number | null | undefined) ?? null,
    lease: (row.get('lease_token') as string | null | undefined) ?? null, deleted: row.get('deleted_at') != null,
  };

/**
 * Chat messages, partitioned by (application, chat, number range). Every write to a message row is conditional
 * (create IF NOT EXISTS; edit, delete and leases IF version/lease_token), never a plain write: Paxos and plain
 * writes on one row would race on timestamps. A delete keeps the row with `deleted_at` set (see docs/api.md, Editing).
 */
export class ChatMessageStore {
  constructor(private readonly db: Db) {}

  /** `m.body` is what the row keeps (the whole body, or its inline prefix when `m.ref.key` names the object). */
  async insert(appId: string, chat: number, m: NewMessage): Promise<{ applied: boolean; message: StoredMessage }> {
    const rs = await this.db.execute('chat_message_insert',
      `INSERT INTO ${this.db.hot}.chat_messages (app_id, chat_number, bucket, ${COLUMNS}, history)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [appId, chat, numberBucket(m.number), m.number, m.body, m.version, m.createdAt, m.updatedAt, ...refCells(m.ref, m.history)],
      { idempotent: false });
    return rs.wasApplied()
      ? { applied: true, message: { ...m, deletedAt: null, lease: null, ref: m.ref ?? null, history: m.history ?? [] } }
      : { applied: false, message: toMessage(rs.first()) };
  }

  /**
   * Takes a number with a deleted placeholder row (version 0, which no create writes): lists, gets, edits and
   * leases treat it as deleted, and a create's IF NOT EXISTS under that number is refused. Either way returns the
   * row stored under it afterwards.
   */
  async fence(appId: string, chat: number, number: number, at: Date): Promise<{ applied: boolean; row: StoredMessage }> {
    const rs = await this.db.execute('chat_message_fence',
      `INSERT INTO ${this.db.hot}.chat_messages (app_id, chat_number, bucket, number, body, version, created_at,
       updated_at, deleted_at) VALUES (?, ?, ?, ?, '', 0, ?, ?, ?) IF NOT EXISTS`,
      [appId, chat, numberBucket(number), number, at, at, at], { idempotent: false });
    return rs.wasApplied()
      ? { applied: true, row: { number, body: '', version: 0, createdAt: at, updatedAt: at, deletedAt: at, lease: null,
        ref: null, history: [] } }
      : { applied: false, row: toMessage(rs.first()) };
  }

  /** The row, deleted or not; `serial` reads through Paxos (settles a conditional write in flight). */
  async find(appId: string, chat: number, number: number, serial = false): Promise<StoredMessage | null> {
    const row = (await this.db.execute(serial ? 'chat_message_select_serial' : 'chat_message_select',
      `SELECT ${ALL} FROM ${this.db.hot}.chat_messages WHERE ${KEY}`, keyOf(appId, chat, number),
      serial ? { consistency: this.db.serial } : {})).first();
    return row ? toMessage(row) : null;
  }

  /**
   * Up to `limit` live messages of one number range with numbers above `after`. Deleted rows are skipped, so
   * the range is read on in pages until the page is full or the range ends (at most 1,000 rows).
   */
  async slice(appId: string, chat: number, bucket: number, after: number, limit: number): Promise<ChatMessage[]> {
    const out: ChatMessage[] = [];
    let pageState: string | undefined;
    do {
      const rs = await this.db.execute('chat_message_slice',
        `SELECT ${COLUMNS}, deleted_at FROM ${this.db.hot}.chat_messages
         WHERE app_id = ? AND chat_number = ? AND bucket = ? AND number > ?`,
        [appId, chat, bucket, after], { fetchSize: limit, pageState });
      pageState = rs.pageState ?? undefined;
      for (const r of rs.rows) {
        if (r.get('deleted_at') == null && out.length < limit) out.push(toMessage(r));
      }
    } while (pageState && out.length < limit);
    return out;
  }

  /**
   * Up to `count` rows of one number range above `after`, deleted ones included (as `item: null`): what a client
   * page walks (see clientPage). One read of at most `count` rows.
   */
  async scan(appId: string, chat: number, bucket: number, after: number, count: number): Promise<Scanned<StoredMessage>[]> {
    const rs = await this.db.execute('chat_message_scan',
      `SELECT ${COLUMNS}, deleted_at FROM ${this.db.hot}.chat_messages
       WHERE app_id = ? AND chat_number = ? AND bucket = ? AND number > ? LIMIT ?`,
      [appId, chat, bucket, after, count]);
    return rs.rows.map((r) => {
      const m = toMessage(r);
      const live = r.get('deleted_at') == null;
      return { number: m.number, createdAt: m.createdAt, item: live ? m : null,
        bytes: live ? m.ref?.size ?? Buffer.byteLength(m.body) : 0 };
    });
  }

  /** The highest number stored in one number range (deleted rows count: their numbers stay taken), or null. */
  async top(appId: string, chat: number, bucket: number): Promise<number | null> {
    const row = (await this.db.execute('chat_message_top',
      `SELECT number FROM ${this.db.hot}.chat_messages WHERE app_id = ? AND chat_number = ? AND bucket = ?
       ORDER BY number DESC LIMIT 1`, [appId, chat, bucket])).first();
    return row ? num(row.get('number')) : null;
  }

  /**
   * Body edit from `version` to `version + 1`, only while the lease cell equals `lease` (null: no lease): the
   * row's body cell, its object, digest and size, and the history, in one conditional write.
   */
  async edit(appId: string, chat: number, number: number, change: BodyChange, lease: string | null): Promise<CasResult> {
    const rs = await this.db.execute('chat_message_edit',
      `UPDATE ${this.db.hot}.chat_messages SET body = ?, body_key = ?, body_digest = ?, body_size = ?, history = ?,
       version = ?, updated_at = ? WHERE ${KEY}
       IF version = ? AND lease_token = ? AND deleted_at = null`,
      [change.body, ...refCells(change.ref, change.history), change.version + 1, change.at, ...keyOf(appId, chat, number), change.version, lease]);
    return casResult(rs.first());
  }

  /**
   * Delete from `version`: the row stays, with `deleted_at`, version + 1, an empty body and no object or history
   * (empty strings, not null: overwriting writes no tombstone and frees the space at compaction). Every version's
   * object is then pointed to by nothing: the sweeper erases them after its grace period.
   */
  async delete(appId: string, chat: number, number: number, change: { version: number; at: Date },
    lease: string | null): Promise<CasResult> {
    const rs = await this.db.execute('chat_message_delete',
      `UPDATE ${this.db.hot}.chat_messages SET body = '', body_key = '', body_digest = '', body_size = 0, history = '',
       version = ?, updated_at = ?, deleted_at = ? WHERE ${KEY}
       IF version = ? AND lease_token = ? AND deleted_at = null`,
      [change.version + 1, change.at, change.at, ...keyOf(appId, chat, number), change.version, lease]);
    return casResult(rs.first());
  }

  /**
   * Up to `limit` rows of one number range above `after`, deleted ones included: `ephemera reindex` writes them
   * as tombstones. One page, at most `limit` bodies.
   */
  async sliceWithDeleted(appId: string, chat: number, bucket: number, after: number, limit: number): Promise<StoredMessage[]> {
    const rs = await this.db.execute('chat_message_slice_all',
      `SELECT ${ALL} FROM ${this.db.hot}.chat_messages WHERE app_id = ? AND chat_number = ? AND bucket = ? AND number > ?`,
      [appId, chat, bucket, after], { fetchSize: limit });
    return rs.rows.slice(0, limit).map(toMessage);
  }

  /** Number and version of every row of one number range, deleted ones included (no bodies: ~30 bytes a row). */
  async versions(appId: string, chat: number, bucket: number): Promise<RowVersion[]> {
    const out: RowVersion[] = [];
    let pageState: string | undefined;
    do {
      const rs = await this.db.execute('chat_message_versions',
        `SELECT number, version FROM ${this.db.hot}.chat_messages WHERE app_id = ? AND chat_number = ? AND bucket = ?`,
        [appId, chat, bucket], { fetchSize: 1000, pageState });
      pageState = rs.pageState ?? undefined;
      for (const r of rs.rows) out.push({ number: num(r.get('number')), version: r.get('version') as number });
    } while (pageState);
    return out;
  }
}

/**
 * A new message row: `body` is what the row keeps, `ref` the body's object and digest, `history` its first entry
 * (both absent: a row as written before file storage, whose body is its cell, unchecked).
 */
export interface NewMessage extends ChatMessage { ref?: BodyRef; history?: VersionEntry[] }

/** One edit: the body cell, object and history the row holds at `version + 1` (absent: as NewMessage). */
export interface BodyChange { body: string; ref?: BodyRef; history?: VersionEntry[]; version: number; at: Date }

const refCells = (ref: BodyRef | undefined, history: VersionEntry[] | undefined): Params =>
  [ref?.key ?? '', ref?.digest ?? '', ref?.size ?? 0, history ? encodeHistory(history) : ''];

/** A row's number and version (a deleted row's version is its delete's). */
export interface RowVersion { number: number; version: number }
