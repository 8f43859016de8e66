import type { Db, Row } from '../storage/cassandra.js';
import type { Application, NumberedPage } from './types.js';

const COLUMNS = 'app_token, app_id, name, version, created_at, updated_at';

const toApplication = (r: Row): Application => ({
  token: r.get('app_token') as string, appId: String(r.get('app_id')), name: r.get('name') as string,
  version: r.get('version') as number, createdAt: r.get('created_at') as Date, updatedAt: r.get('updated_at') as Date,
});

/** Applications, keyed by their public token. Every write is conditional (the editing issue adds If-Match). */
export class ApplicationStore {
  constructor(private readonly db: Db) {}

  async insert(app: Application): Promise<boolean> {
    const rs = await this.db.execute('chat_app_insert',
      `INSERT INTO ${this.db.hot}.chat_applications (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [app.token, app.appId, app.name, app.version, app.createdAt, app.updatedAt], { idempotent: false });
    return rs.wasApplied();
  }

  /** `serial` reads through Paxos (settles a conditional write in flight). */
  async find(token: string, serial = false): Promise<Application | null> {
    const row = (await this.db.execute(serial ? 'chat_app_select_serial' : 'chat_app_select',
      `SELECT ${COLUMNS} FROM ${this.db.hot}.chat_applications WHERE app_token = ?`, [token],
      serial ? { consistency: this.db.serial } : {})).first();
    return row ? toApplication(row) : null;
  }

  /** Applications in token order (the partitioner's order), after `afterToken`; `more` when the page is full. */
  async page(afterToken: string | null, limit: number): Promise<NumberedPage<Application>> {
    const rs = afterToken === null
      ? await this.db.execute('chat_app_page_first',
        `SELECT ${COLUMNS} FROM ${this.db.hot}.chat_applications LIMIT ?`, [limit + 1])
      : await this.db.execute('chat_app_page',
        `SELECT ${COLUMNS} FROM ${this.db.hot}.chat_applications WHERE token(app_token) > token(?) LIMIT ?`,
        [afterToken, limit + 1]);
    const items = rs.rows.map(toApplication);
    return { items: items.slice(0, limit), more: items.length > limit };
  }

  /** Every application, page by page (the reconciliation's walk). */
  async *all(pageSize = 500): AsyncGenerator<Application> {
    let after: string | null = null;
    for (;;) {
      const page = await this.page(after, pageSize);
      yield* page.items;
      if (!page.more) return;
      after = page.items.at(-1)!.token;
    }
  }

  async rename(token: string, name: string, version: number, at: Date): Promise<boolean> {
    const rs = await this.db.execute('chat_app_rename',
      `UPDATE ${this.db.hot}.chat_applications SET name = ?, version = ?, updated_at = ? WHERE app_token = ? IF version = ?`,
      [name, version + 1, at, token, version], { idempotent: false });
    return rs.wasApplied();
  }
}
