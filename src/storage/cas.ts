import { CasOutcomeUnknown } from './cassandra.js';
import { sleep } from '../async.js';
import { storageTimeLeft } from './request-deadline.js';

/**
 * SERIAL reads tried, with these pauses before each retry, before an open outcome is given up as unknown (every
 * conditional write that settles by reading: here, and a create's row insert in src/chats/numbered.ts).
 */
export const SETTLE_PAUSES_MS = [0, 200, 500];

/**
 * The pause before a settle read: false (no pause) when the request's storage deadline would pass first, since a
 * read that cannot start in time settles nothing.
 */
export async function pauseBeforeSettleRead(pause: number): Promise<boolean> {
  if (pause === 0) return true;
  if (storageTimeLeft() <= pause) return false;
  await sleep(pause);
  return true;
}

/**
 * Runs a conditional write whose "not applied" answer already says whether the row now holds our own claim
 * (`write`). When the outcome is unknown (timeout, broken connection), one SERIAL read decides: it completes
 * any Paxos round in flight, so `readBack` sees the write if it was ever going to apply. The read-back must ask
 * "did my write ever apply", not "is it the current state": another writer may already have built on it. When
 * the row cannot tell any more, `readBack` answers null. Then, or if every read fails, the CasOutcomeUnknown goes
 * up: the caller must not act as if the write failed (nor as if it succeeded).
 */
export async function decideCas(write: () => Promise<boolean>, readBack: () => Promise<boolean | null>):
  Promise<boolean> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof CasOutcomeUnknown)) throw err;
    for (const pause of SETTLE_PAUSES_MS) {
      if (!(await pauseBeforeSettleRead(pause))) break;
      let decided: boolean | null;
      try {
        decided = await readBack();
      } catch (readErr) {
        // The read-back itself found the outcome unknowable (the row moved on past our write): no retry.
        if (readErr instanceof CasOutcomeUnknown) throw readErr;
        continue; // still open: try again, then give up below
      }
      if (decided === null) break;
      return decided;
    }
    throw err;
  }
}

/**
 * Whether a conditional write sent on version `from` (writing `from + 1`) is out of sight in a row now at version
 * `now` that remembers its last `remembered` writes: had ours applied, more writes than that landed on top of it,
 * so the row cannot tell any more whether it did, and the outcome stays unknown (never "not applied"). A chat or
 * message row remembers 1 (its own version's body, key and time: src/chats/read-back.ts, earlier-sends.ts); an
 * inbox delivery cursor CURSOR_CLAIM_HISTORY claims (src/inbox/cursor-store.ts).
 */
export const outOfSight = (now: number, from: number, remembered: number): boolean => now - from > remembered;
