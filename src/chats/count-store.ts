import { num, type Db, type Row } from '../storage/cassandra.js';
import { APP_SCOPE, BUCKET_SIZE, isPlaceholder, numberBucket } from './numbered.js';

/** Cassandra write timestamps are µs; a count computed later always wins over one computed earlier. */
const micros = (at: Date) => at.getTime() * 1000;

/**
 * Derived counts. Rows per number range are recounted from the source partition and stored per range; a total
 * is the sum of its ranges. Both are written `USING TIMESTAMP <when the count was read>`, so whichever of the
 * counts worker and the reconciliation wrote last, the most recent computation is what stays. Scope 0 = the
 * application's chats, scope n = chat n's messages.
 */
export class CountStore {
  constructor(private readonly db: Db) {}

  /**
   * Live rows stored now in one number-range partition (at most BUCKET_SIZE, so the count is bounded). A
   * deleted message keeps its row with `deleted_at` set, which CQL cannot filter on without ALLOW FILTERING,
   * so the range's `deleted_at` cells are read (one page of at most 1,000 small cells) and counted here.
   */
  async countRange(appId: string, scope: number, bucket: number): Promise<number> {
    // Chats: not COUNT(*), since a fenced number's placeholder row (numbered.ts, isPlaceholder) is no chat.
    return scope === APP_SCOPE
      ? this.countLive('count_chats_range', `SELECT version FROM ${this.db.hot}.chats WHERE app_id = ? AND bucket = ?`,
        [appId, bucket], (r) => !isPlaceholder({ version: r.get('version') as number }))
      : this.countLive('count_messages_range',
        `SELECT deleted_at FROM ${this.db.hot}.chat_messages WHERE app_id = ? AND chat_number = ? AND bucket = ?`,
        [appId, scope, bucket], (r) => r.get('deleted_at') == null);
  }

  /** Rows of one range partition (≤ BUCKET_SIZE) for which `live` holds, read a page at a time. */
  private async countLive(statement: string, cql: string, params: unknown[], live: (r: Row) => boolean): Promise<number> {
    let n = 0;
    let pageState: string | undefined;
    do {
      const rs = await this.db.execute(statement, cql, params, { fetchSize: BUCKET_SIZE, pageState });
      pageState = rs.pageState ?? undefined;
      for (const r of rs.rows) if (live(r)) n += 1;
    } while (pageState);
    return n;
  }

  async writeRange(appId: string, scope: number, bucket: number, rows: number, countedAt: Date): Promise<void> {
    await this.db.execute('count_range_write',
      `INSERT INTO ${this.db.hot}.chat_bucket_counts (app_id, chat_number, bucket, row_count) VALUES (?, ?, ?, ?)
       USING TIMESTAMP ?`, [appId, scope, bucket, rows, micros(countedAt)]);
  }

  async sumRanges(appId: string, scope: number): Promise<number> {
    let total = 0;
    let pageState: string | undefined;
    do {
      const rs = await this.db.execute('count_ranges_read',
        `SELECT row_count FROM ${this.db.hot}.chat_bucket_counts WHERE app_id = ? AND chat_number = ?`, [appId, scope],
        { fetchSize: 1000, pageState });
      pageState = rs.pageState ?? undefined;
      for (const r of rs.rows) total += (r.get('row_count') as number | null) ?? 0;
    } while (pageState);
    return total;
  }

  async writeTotal(appId: string, scope: number, total: number, countedAt: Date): Promise<void> {
    await this.db.execute('count_total_write',
      `INSERT INTO ${this.db.hot}.chat_counts (app_id, bucket, chat_number, total, counted_at) VALUES (?, ?, ?, ?, ?)
       USING TIMESTAMP ?`, [appId, numberBucket(scope), scope, total, countedAt, micros(countedAt)]);
  }

  async total(appId: string, scope: number): Promise<number> {
    const row = (await this.db.execute('count_total_read',
      `SELECT total FROM ${this.db.hot}.chat_counts WHERE app_id = ? AND bucket = ? AND chat_number = ?`,
      [appId, numberBucket(scope), scope])).first();
    return row ? num(row.get('total')) : 0;
  }

  /** Totals of the chats numbered first..last, which lie in one number range. */
  async totals(appId: string, first: number, last: number): Promise<Map<number, number>> {
    const rs = await this.db.execute('count_totals_read',
      `SELECT chat_number, total FROM ${this.db.hot}.chat_counts
       WHERE app_id = ? AND bucket = ? AND chat_number >= ? AND chat_number <= ?`,
      [appId, numberBucket(first), first, last]);
    return new Map(rs.rows.map((r) => [num(r.get('chat_number')), num(r.get('total'))]));
  }
}
