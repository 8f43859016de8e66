import { composeId, ID_EPOCH_MS, MAX_SEQUENCE } from './id-layout.js';
import { unavailable } from '../errors.js';
import type { Clock } from '../clock.js';

/** How far ahead of the wall clock the generator may run (after a clock step back or a burst) before it refuses. */
const MAX_BORROW_MS = 2_000;

/**
 * Issues ids for one writer slot. Never repeats: time never goes back inside the generator (a clock that steps
 * backwards makes it borrow future milliseconds), and it starts above the previous holder's lease horizon.
 */
export class IdGenerator {
  private lastMs = -1;
  private seq = 0;

  constructor(readonly writer: number, floorUnixMs: number, private readonly now: Clock = Date.now) {
    this.lastMs = Math.max(-1, floorUnixMs - ID_EPOCH_MS);
  }

  /** The last millisecond (Unix) this generator has used; a successor must start above it. */
  get horizonUnixMs(): number {
    return this.lastMs + ID_EPOCH_MS;
  }

  next(limitUnixMs = Number.POSITIVE_INFINITY): number {
    const nowMs = this.now() - ID_EPOCH_MS;
    if (nowMs > this.lastMs) {
      this.lastMs = nowMs;
      this.seq = 0;
    } else if (this.seq < MAX_SEQUENCE) {
      this.seq += 1;
    } else {
      if (this.lastMs + 1 - nowMs > MAX_BORROW_MS) throw unavailable('id generator is ahead of the clock');
      this.lastMs += 1;
      this.seq = 0;
    }
    if (this.lastMs + ID_EPOCH_MS > limitUnixMs) throw unavailable('writer lease horizon reached');
    return composeId(this.lastMs, this.writer, this.seq);
  }
}
