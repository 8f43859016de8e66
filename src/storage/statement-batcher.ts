import type { Db } from './cassandra.js';
import { inParallel } from '../async.js';

/**
 * Small statements share an unlogged batch (one round trip) while the batch stays under BATCH_BYTES of payload and
 * BATCH_GROUPS groups: Cassandra logs a warning for every batch over 5 KiB or over 10 partitions, and refuses
 * multi-partition batches over 50 KiB, so larger payloads are written statement by statement.
 */
const BATCH_BYTES = 2048;
const BATCH_GROUPS = 4;
/** Requests one call keeps in flight when it writes many groups. */
export const WRITES_IN_FLIGHT = 64;

/** A prepared statement with the bytes of payload (text) it carries, which is what batch limits are about. */
export interface Statement { name: string; query: string; params: unknown[]; payloadBytes: number }

/**
 * Splits groups of statements (the statements of one logical write, kept together) into requests: whole groups
 * share a batch up to the limits; a group over the byte limit on its own goes statement by statement. Pure.
 */
export function groupStatements(groups: Statement[][]): Statement[][] {
  const requests: Statement[][] = [];
  let open: Statement[] = [];
  let bytes = 0;
  let count = 0;
  for (const statements of groups) {
    const size = statements.reduce((n, st) => n + st.payloadBytes, 0);
    if (size > BATCH_BYTES) {
      requests.push(...statements.map((st) => [st]));
      continue;
    }
    if (count === BATCH_GROUPS || bytes + size > BATCH_BYTES) {
      requests.push(open);
      open = [];
      bytes = 0;
      count = 0;
    }
    open.push(...statements);
    bytes += size;
    count++;
  }
  if (open.length) requests.push(open);
  return requests;
}

/** Sends the groups in as few round trips as the batch limits allow; multi-statement requests go as `batchName`. */
export async function sendGrouped(db: Db, batchName: string, groups: Statement[][]): Promise<void> {
  await inParallel(groupStatements(groups), WRITES_IN_FLIGHT, (r) => (r.length === 1
    ? db.execute(r[0]!.name, r[0]!.query, r[0]!.params)
    : db.batch(batchName, r)));
}
