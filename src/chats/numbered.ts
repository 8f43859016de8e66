import { CasOutcomeUnknown } from '../storage/cassandra.js';
import { pauseBeforeSettleRead, SETTLE_PAUSES_MS } from '../storage/cas.js';

/**
 * Chats and messages live in partitions of BUCKET_SIZE consecutive numbers: a chat with 10 M messages is 10,000
 * partitions of at most 1,000 rows (at most 64 MiB with the largest bodies, ~200 KB with typical ones), and a
 * page (at most 500 rows) spans at most two of them. Fixed: changing it would orphan rows already written.
 */
export const BUCKET_SIZE = 1000;

export const numberBucket = (n: number): number => Math.floor(n / BUCKET_SIZE);

/** The chat counter lives under chat number 0 (chat numbers start at 1). */
export const APP_SCOPE = 0;

/**
 * A small bounded map (insertion order = age; setting a key again makes it the youngest): the oldest entry goes
 * once there are more than `limit`. For caches a miss only makes slower: facts that never change once true, or
 * last-known values re-read when missing (the number allocator's counters).
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) { super(); }
  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.limit) super.delete(this.keys().next().value!);
    return this;
  }
}

/**
 * Up to `limit` rows numbered above `after`, walking the number ranges in order and reading only what the page
 * needs (constant memory whatever the parent's size). `lastNumber` is the highest number ever claimed.
 */
export async function pageByNumber<T extends { number: number }>(after: number, limit: number, lastNumber: number,
  slice: (bucket: number, after: number, limit: number) => Promise<T[]>): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let cursor = after;
  for (let bucket = numberBucket(after + 1); items.length < limit && bucket <= numberBucket(lastNumber); bucket++) {
    const rows = await slice(bucket, cursor, limit - items.length);
    items.push(...rows);
    if (rows.length > 0) cursor = rows.at(-1)!.number;
  }
  return { items, more: items.length === limit && cursor < lastNumber };
}

/**
 * The highest number stored at or above `from`, walking number ranges upwards from `from`'s until one holds no
 * row (`top(bucket)`: the highest number stored in that range, null if none). Numbers are claimed in order, so an
 * empty range of 1,000 numbers means nothing was stored above it: the gaps the allocator leaves are a few claims
 * wide, far below 1,000. Used only when a fresh number was found taken (the counter went backwards).
 */
export async function highestStored(from: number, top: (bucket: number) => Promise<number | null>): Promise<number> {
  let highest = from;
  for (let bucket = numberBucket(from); ; bucket++) {
    const found = await top(bucket);
    if (found === null) return highest;
    highest = Math.max(highest, found);
  }
}

/**
 * A number taken by a fence: a placeholder row at version 0, which no create writes (chats and messages alike).
 * Gets, renames and edits treat it as no row; lists skip it without a hole.
 */
export const isPlaceholder = (row: { version: number }): boolean => row.version === 0;

/**
 * A fence (IF NOT EXISTS) whose answer was lost, settled by a SERIAL read of the number: any row there now is
 * either our placeholder or the first attempt's row, and "not applied" with that row is right for both.
 */
export async function settleFence<R>(fence: () => Promise<{ applied: boolean; row: R }>,
  serialFind: () => Promise<R | null>): Promise<{ applied: boolean; row: R }> {
  try {
    return await fence();
  } catch (err) {
    const row = await serialFind();
    if (row === null) throw err;
    return { applied: false, row };
  }
}

/** Sends of one create's row under one number: a re-send follows only a read that found the number empty. */
const INSERT_SENDS = 3;

/**
 * A create's row insert (IF NOT EXISTS) whose answer was lost, settled instead of answered 503. On three nodes
 * these are mostly Paxos contention timeouts ("0 peer(s) acknowledged"): the inserts, edits and deletes of a hot
 * chat's 1,000 numbers share one partition, hence one Paxos instance (the 2026-12-07 node-kill runs: 9 creates
 * in 3,400 failed this way, before, during and long after the fault). A SERIAL read of the number completes or
 * supersedes the round in flight, so what it finds is final for our send: our row (`ours`: the created_at only
 * this send wrote, which edits never change) means it applied; another row means the number was taken first;
 * no row means ours never applied and never will, and the row is sent again (through `insert`, which checks the
 * row deadline first). A number a fence took shows its placeholder: "not applied" with it is right.
 */
export async function settleInsert<R>(insert: () => Promise<{ applied: boolean; row: R }>,
  serialFind: () => Promise<R | null>, ours: (row: R) => boolean): Promise<{ applied: boolean; row: R }> {
  for (let send = 1; ; send++) {
    let lost: CasOutcomeUnknown;
    try {
      const sent = await insert();
      // A re-send refused by our own row: the earlier send applied after all.
      return send > 1 && !sent.applied && ours(sent.row) ? { applied: true, row: sent.row } : sent;
    } catch (err) {
      if (!(err instanceof CasOutcomeUnknown)) throw err;
      lost = err;
    }
    let empty = false;
    for (const pause of SETTLE_PAUSES_MS) {
      if (!(await pauseBeforeSettleRead(pause))) break;
      let row: R | null;
      try {
        row = await serialFind();
      } catch {
        continue; // the read timed out too (same contention): read again, then give up below
      }
      if (row !== null) return { applied: ours(row), row };
      empty = true;
      break;
    }
    if (!empty || send >= INSERT_SENDS) throw lost;
  }
}
