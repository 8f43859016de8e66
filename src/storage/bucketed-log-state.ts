import type cassandra from 'cassandra-driver';
import { num, type Db } from './cassandra.js';
import type { WalkState } from './bucket-walk.js';
import { advanceCheckpoint } from './forward-checkpoint.js';

type TimeUuid = cassandra.types.TimeUuid;

/**
 * One consumer's place in one bucketed log: its checkpoint (bucketed_log_checkpoints) and, inside the bucket it
 * walks, each shard's last entry done (bucketed_log_progress).
 */
export class BucketedLogState implements WalkState<TimeUuid> {
  constructor(private readonly db: Db, private readonly log: string, private readonly consumer: string) {}

  async checkpoint(): Promise<number | null> {
    const row = (await this.db.execute('log_checkpoint_read',
      `SELECT done_until FROM ${this.db.hot}.bucketed_log_checkpoints WHERE log = ? AND consumer = ?`,
      [this.log, this.consumer])).first();
    return row ? num(row.get('done_until')) : null;
  }

  /** Forward only: a consumer that resumes after losing its lock must not put its older bucket back. */
  async setCheckpoint(bucket: number): Promise<void> {
    await advanceCheckpoint(this.db, { statement: 'log_checkpoint_write',
      table: `${this.db.hot}.bucketed_log_checkpoints`, column: 'done_until', where: 'log = ? AND consumer = ?',
      key: [this.log, this.consumer] }, bucket);
  }

  async progress(bucket: number): Promise<Map<number, TimeUuid>> {
    const rs = await this.db.execute('log_progress_read',
      `SELECT shard, bucket, position FROM ${this.db.hot}.bucketed_log_progress WHERE log = ? AND consumer = ?`,
      [this.log, this.consumer]);
    const out = new Map<number, TimeUuid>();
    for (const r of rs.rows) {
      if (num(r.get('bucket')) === bucket) out.set(r.get('shard') as number, r.get('position') as TimeUuid);
    }
    return out;
  }

  async setProgress(bucket: number, shard: number, position: TimeUuid): Promise<void> {
    await this.db.execute('log_progress_write',
      `UPDATE ${this.db.hot}.bucketed_log_progress SET bucket = ?, position = ? WHERE log = ? AND consumer = ? AND shard = ?`,
      [bucket, position, this.log, this.consumer, shard]);
  }
}
