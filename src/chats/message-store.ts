import type { Db, Row } from '../storage/cassandra.js';
import { num } from '../storage/cassandra.js';
import { numberBucket } from './numbered.js';
import type { ChatMessage } from './types.js';

const COLUMNS = 'number, body, version, created_at, updated_at';

const toMessage = (r: Row): ChatMessage => ({
  number: num(r.get('number')), body: r.get('body') as string, version: r.get('version') as number,
  createdAt: r.get('created_at') as Date, updatedAt: r.get('updated_at') as Date,
});

/**
 * Chat messages, partitioned by (application, chat, number range). Every write to a message row is conditional
 * (a create is IF NOT EXISTS), so edits can use `IF version = ?` without ever mixing plain and Paxos writes.
 */
export class ChatMessageStore {
  constructor(private readonly db: Db) {}

  async insert(appId: string, chat: number, m: ChatMessage): Promise<{ applied: boolean; message: ChatMessage }> {
    const rs = await this.db.execute('chat_message_insert',
      `INSERT INTO ${this.db.hot}.chat_messages (app_id, chat_number, bucket, ${COLUMNS})
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [appId, chat, numberBucket(m.number), m.number, m.body, m.version, m.createdAt, m.updatedAt],
      { idempotent: false });
    return rs.wasApplied() ? { applied: true, message: m } : { applied: false, message: toMessage(rs.first()) };
  }

  async find(appId: string, chat: number, number: number): Promise<ChatMessage | null> {
    const row = (await this.db.execute('chat_message_select',
      `SELECT ${COLUMNS} FROM ${this.db.hot}.chat_messages WHERE app_id = ? AND chat_number = ? AND bucket = ? AND number = ?`,
      [appId, chat, numberBucket(number), number])).first();
    return row ? toMessage(row) : null;
  }

  async slice(appId: string, chat: number, bucket: number, after: number, limit: number): Promise<ChatMessage[]> {
    const rs = await this.db.execute('chat_message_slice',
      `SELECT ${COLUMNS} FROM ${this.db.hot}.chat_messages
       WHERE app_id = ? AND chat_number = ? AND bucket = ? AND number > ? LIMIT ?`,
      [appId, chat, bucket, after, limit]);
    return rs.rows.map(toMessage);
  }
}
