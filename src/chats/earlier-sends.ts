import { CasOutcomeUnknown } from '../storage/cassandra.js';
import { outOfSight } from '../storage/cas.js';
import { decideByVersion, ROW_REMEMBERS } from './read-back.js';

interface Versioned { version: number }

/**
 * Every conditional write (`IF version = send.version`, writing `send.version + 1`) that one edit, delete or
 * rename has sent so far, like the inbox cursor's last claims (src/inbox/cursor-store.ts; both give up by the one
 * rule `outOfSight` in storage/cas.ts, a row here remembering one write and a cursor 16). A send whose
 * read-back found the row untouched is not settled: its coordinator may still be working on it and apply it after
 * the read, while a later round has already sent again. Remembering only the last send then answers that row,
 * ours, as someone else's: a false 412 with If-Match (review B12), a false 404 for a delete, or our change applied
 * a second time without it. So each round first asks whether the row holds *any* earlier send of ours; and once
 * the row has moved two versions or more past a send still open, it cannot tell (ours may lie under another
 * writer's): the outcome is unknown (503), never a 412 nor our change written again over theirs. A delete is
 * final (nothing is written on top of it), so a row further on says it never applied.
 */
export class EarlierSends<R extends Versioned, S extends Versioned> {
  private readonly sends: { send: S; open: boolean }[] = [];

  /**
   * `ours`: whether `row` at `send.version + 1` is `send`'s write (its own time, body key, name). `final`: nothing
   * is ever written on top of our write (a delete), so a row further on never hides it.
   */
  constructor(private readonly ours: (row: R, send: S) => boolean, private readonly statement: string,
    private readonly final = false) {}

  /** Remembers a send before it goes out: a "not applied" answer may be a re-sent write that did apply. */
  sent(send: S): S {
    this.sends.push({ send, open: false });
    return send;
  }

  /**
   * Settles `send`'s unknown outcome from its SERIAL read-back `now` (decideByVersion). "Not applied" with the row
   * untouched (or gone) leaves the send open: it may still land.
   */
  settle(now: R | null, send: S): boolean {
    const mine = now !== null && now.version === send.version + 1 && this.ours(now, send);
    const applied = this.final ? mine : decideByVersion(now, send.version, mine, this.statement);
    const entry = this.sends.find((s) => s.send === send);
    if (!applied && entry && (now === null || now.version <= send.version)) entry.open = true;
    return applied;
  }

  /**
   * The earlier send `row` holds, or null when it holds none of ours. A row one version past an open send and not
   * ours settles that send (another write took its version); two or more past it, CasOutcomeUnknown.
   */
  find(row: R | null): S | null {
    if (row === null) return null;
    for (const s of this.sends) if (row.version === s.send.version + 1 && this.ours(row, s.send)) return s.send;
    for (const s of this.sends) {
      if (!s.open) continue;
      if (row.version === s.send.version + 1 || (this.final && row.version > s.send.version)) s.open = false;
      else if (outOfSight(row.version, s.send.version, ROW_REMEMBERS)) throw new CasOutcomeUnknown(this.statement);
    }
    return null;
  }
}
