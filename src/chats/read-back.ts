import { CasOutcomeUnknown } from '../storage/cassandra.js';
import { outOfSight } from '../storage/cas.js';

/** A chat or message row shows only the write that set its version (its body, object key, time). */
export const ROW_REMEMBERS = 1;

/**
 * Decides a versioned compare-and-set (`IF version = from`, writing `from + 1`) whose answer was lost, from the
 * SERIAL read-back of the row. Version `from + 1` is either our write (`ours` says so: our body and our
 * `updated_at`) or the one that beat ours to that version: then ours never applied. At `from + 2` or more another
 * writer committed on top, maybe on top of ours: the read cannot tell, so the outcome stays unknown (503 with
 * Retry-After). Answering "not applied" there would turn our acknowledged write into a false 412, or re-apply
 * our body over the other writer's change.
 */
export function decideByVersion(now: { version: number } | null, from: number, ours: boolean, statement: string): boolean {
  if (now !== null && now.version === from + 1) return ours;
  if (now !== null && outOfSight(now.version, from, ROW_REMEMBERS)) throw new CasOutcomeUnknown(statement);
  return false;
}
