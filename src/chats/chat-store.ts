import type { Db, Row } from '../storage/cassandra.js';
import { num } from '../storage/cassandra.js';
import { numberBucket } from './numbered.js';
import type { Chat } from './types.js';

const COLUMNS = 'number, name, version, created_at, updated_at';

const toChat = (r: Row): Chat => ({
  number: num(r.get('number')), name: (r.get('name') as string | null) ?? null, version: r.get('version') as number,
  createdAt: r.get('created_at') as Date, updatedAt: r.get('updated_at') as Date,
});

/** Chats, partitioned by (application, number range). Every write is conditional. */
export class ChatStore {
  constructor(private readonly db: Db) {}

  /** Inserts unless the number exists; either way returns the row now stored under it. */
  async insert(appId: string, chat: Chat): Promise<{ applied: boolean; chat: Chat }> {
    const rs = await this.db.execute('chat_insert',
      `INSERT INTO ${this.db.hot}.chats (app_id, bucket, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [appId, numberBucket(chat.number), chat.number, chat.name, chat.version, chat.createdAt, chat.updatedAt],
      { idempotent: false });
    return rs.wasApplied() ? { applied: true, chat } : { applied: false, chat: toChat(rs.first()) };
  }

  /**
   * Takes `number` with a placeholder row (isPlaceholder) unless a chat is stored there, so a keyed re-drive past
   * the row deadline keeps a stalled first attempt from landing where lists have passed; returns the row stored now.
   */
  async fence(appId: string, number: number, at: Date): Promise<{ applied: boolean; row: Chat }> {
    const placeholder: Chat = { number, name: null, version: 0, createdAt: at, updatedAt: at };
    const rs = await this.db.execute('chat_fence',
      `INSERT INTO ${this.db.hot}.chats (app_id, bucket, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [appId, numberBucket(number), number, null, 0, at, at], { idempotent: false });
    return rs.wasApplied() ? { applied: true, row: placeholder } : { applied: false, row: toChat(rs.first()) };
  }

  /** `serial` reads through Paxos (settles a conditional write in flight); a placeholder row is returned as is. */
  async find(appId: string, number: number, serial = false): Promise<Chat | null> {
    const row = (await this.db.execute(serial ? 'chat_select_serial' : 'chat_select',
      `SELECT ${COLUMNS} FROM ${this.db.hot}.chats WHERE app_id = ? AND bucket = ? AND number = ?`,
      [appId, numberBucket(number), number], serial ? { consistency: this.db.serial } : {})).first();
    return row ? toChat(row) : null;
  }

  /** Up to `limit` chats of one number range with numbers above `after`. */
  async slice(appId: string, bucket: number, after: number, limit: number): Promise<Chat[]> {
    const rs = await this.db.execute('chat_slice',
      `SELECT ${COLUMNS} FROM ${this.db.hot}.chats WHERE app_id = ? AND bucket = ? AND number > ? LIMIT ?`,
      [appId, bucket, after, limit]);
    return rs.rows.map(toChat);
  }

  /** The highest chat number stored in one number range, or null. */
  async top(appId: string, bucket: number): Promise<number | null> {
    const row = (await this.db.execute('chat_top',
      `SELECT number FROM ${this.db.hot}.chats WHERE app_id = ? AND bucket = ? ORDER BY number DESC LIMIT 1`,
      [appId, bucket])).first();
    return row ? num(row.get('number')) : null;
  }

  async rename(appId: string, number: number, name: string | null, version: number, at: Date): Promise<boolean> {
    const rs = await this.db.execute('chat_rename',
      `UPDATE ${this.db.hot}.chats SET name = ?, version = ?, updated_at = ?
       WHERE app_id = ? AND bucket = ? AND number = ? IF version = ?`,
      [name, version + 1, at, appId, numberBucket(number), number, version], { idempotent: false });
    return rs.wasApplied();
  }
}
