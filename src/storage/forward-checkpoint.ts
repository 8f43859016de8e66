import type { Db } from './cassandra.js';

/** Where one consumer's checkpoint lives: a bigint column (with `updated_at` beside it) of one row. */
export interface CheckpointCell {
  /** Statement names: `<statement>` moves it on, `<statement>_first` writes a consumer's first one. */
  statement: string;
  /** Keyspace-qualified table. */
  table: string;
  column: string;
  /** The row's key as a CQL condition (`name = ?`) and its values. */
  where: string;
  key: unknown[];
}

/**
 * Moves a checkpoint forward, never back: a conditional write (`IF column < value`), and for a consumer without
 * one yet `IF column = null` (which applies to an absent row too). The lease guard checks the lock before each
 * write, but a process paused between that check and the write (a GC pause, SIGSTOP, a frozen VM: longer than the
 * lock's TTL) sends it once it resumes, after another holder moved the checkpoint further: a plain write would then
 * put the older bucket back, and the next runs would walk again what was done (test/faults/service-pause.test.ts).
 * A bucket is only ever checkpointed once it is done, so a value further ahead than ours is never wrong to keep:
 * "not applied" there is success. An operator may still move a checkpoint back by hand with a plain write.
 */
export async function advanceCheckpoint(db: Db, cell: CheckpointCell, value: number): Promise<void> {
  // Two rounds at most: the second meets the first value another writer put in between (columns are never nulled).
  for (let round = 0; round < 2; round++) {
    const moved = await db.execute(cell.statement,
      `UPDATE ${cell.table} SET ${cell.column} = ?, updated_at = ? WHERE ${cell.where} IF ${cell.column} < ?`,
      [value, new Date(), ...cell.key, value]);
    if (moved.wasApplied() || moved.first()?.get(cell.column) != null) return;
    const first = await db.execute(`${cell.statement}_first`,
      `UPDATE ${cell.table} SET ${cell.column} = ?, updated_at = ? WHERE ${cell.where} IF ${cell.column} = null`,
      [value, new Date(), ...cell.key]);
    if (first.wasApplied()) return;
  }
}
