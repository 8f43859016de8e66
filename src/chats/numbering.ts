import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { unavailable } from '../errors.js';
import type { CounterStore } from './counter-store.js';
import { BoundedMap } from './numbered.js';
import { numberingCas, numberingClaimSize, numberingSkipped } from '../observability/chat-metrics.js';
import { sleep } from '../async.js';

export interface NumberingOptions {
  /** true: concurrent creates for one parent in this process share one counter write (claims a range). */
  coalesce: boolean;
  /** Counter writes one claim may try before it answers 503 (each lost race returns the fresh value). */
  maxAttempts: number;
}

interface Waiter { resolve(n: number): void; reject(err: unknown): void }
interface Parent { queue: Waiter[]; busy: boolean }

/** Last known `next` per parent, bounded: a miss costs one plain read before the first counter write. */
const KNOWN_LIMIT = 10_000;

/**
 * Hands out numbers 1, 2, 3, ... per parent (an application's chats, a chat's messages), never twice, across
 * any number of processes: a number is ours only once a conditional write `next: e -> e + k` on the parent's
 * counter row was applied, which claims [e, e + k). Creates that arrive while a claim for the same parent is in
 * flight wait and share the next claim (one Paxos round for k creates instead of k contended rounds).
 *
 * Gaps (numbers never used) happen only when: a create fails after it got its number (its row write fails or
 * the process dies); a counter write timed out and a SERIAL read shows another claim on top of it (we cannot
 * know whether our range came first, so it is skipped; our own claim id there means the range is ours and is
 * used); an Idempotency-Key race is lost after a number was taken; a counter that went backwards is moved past
 * the highest number stored (the numbers between are never reused).
 */
export class NumberAllocator {
  private readonly parents = new Map<string, Parent>();
  private readonly known = new BoundedMap<string, number | null>(KNOWN_LIMIT);
  /** Highest `next` seen per parent (bounded like `known`): a counter found below it went backwards. */
  private readonly floors = new BoundedMap<string, number>(KNOWN_LIMIT);

  constructor(private readonly store: CounterStore, private readonly opts: NumberingOptions,
    private readonly log: Logger) {}

  next(appId: string, scope: number): Promise<number> {
    if (!this.opts.coalesce) return this.claim(appId, scope, 1);
    const key = `${appId}/${scope}`;
    let parent = this.parents.get(key);
    if (!parent) {
      parent = { queue: [], busy: false };
      this.parents.set(key, parent);
    }
    const p = parent;
    return new Promise<number>((resolve, reject) => {
      p.queue.push({ resolve, reject });
      if (!p.busy) void this.drain(appId, scope, key, p);
    });
  }

  /** One claim at a time per parent; everyone who queued during a claim shares the next one. */
  private async drain(appId: string, scope: number, key: string, parent: Parent): Promise<void> {
    parent.busy = true;
    while (parent.queue.length > 0) {
      const waiters = parent.queue.splice(0);
      const started = Date.now();
      try {
        const first = await this.claim(appId, scope, waiters.length);
        waiters.forEach((w, i) => w.resolve(first + i));
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
      // Under sustained load the winner of a claim knows the new value at once and sends its next claim while
      // another allocator's retry is still in its Paxos round: that round is preempted, sees the winner's value
      // and loses again (seen: two allocators sharing one event loop, one losing ~50 races in a row). Lingering
      // about one claim's duration (0.5-1.5×, ≤ 20 ms) before the next claim lets the other round finish; the
      // waiters meanwhile join the next batch, so throughput holds and latency grows by about one claim.
      if (parent.queue.length > 0) await sleep(Math.min(20, Date.now() - started) * (0.5 + Math.random()));
    }
    parent.busy = false;
    this.parents.delete(key);
  }

  /**
   * Numbers at or below `highest` are taken (a create found one of them already stored): the counter went
   * backwards under them. The next claim for this parent starts above `highest`, in the same conditional write
   * that claims its range (one Paxos round, whatever the counter holds), so no number is handed out twice.
   */
  raise(appId: string, scope: number, highest: number): void {
    this.observe(`${appId}/${scope}`, highest + 1);
  }

  /** Claims `count` consecutive numbers and returns the first. */
  private async claim(appId: string, scope: number, count: number): Promise<number> {
    const key = `${appId}/${scope}`;
    let expected = this.known.has(key) ? this.known.get(key)! : await this.store.read(appId, scope);
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      this.observe(key, expected);
      // Never below a value this process saw applied: a counter found lower went backwards (Paxos state lost
      // on a rejoining node, seen once at 525 -> 73), and its stored value is moved past the floor by this write.
      const floor = this.floors.get(key) ?? 1;
      const from = Math.max(expected ?? 1, floor);
      if ((expected ?? 1) < floor) {
        this.log.error({ scope, counter: expected, floor }, 'number counter went backwards; claiming above the highest known');
      }
      const claim = randomUUID();
      let outcome;
      try {
        outcome = expected === null
          ? await this.store.create(appId, scope, from + count, claim)
          : await this.store.advance(appId, scope, expected, from + count, claim);
      } catch {
        // Unknown outcome (timeout): a SERIAL read settles the counter. Our claim id there means our write
        // applied: the range is ours. Unchanged means it never applied (and never will: the read's ballot
        // supersedes it). Moved by another means someone took a range on top of ours, maybe after ours: unsure,
        // so our range is skipped (a gap), never handed out.
        numberingCas.inc({ result: 'unknown' });
        const settled = await this.store.settle(appId, scope);
        if (settled.claim === claim) return this.claimed(key, from, count);
        if (settled.next !== expected) {
          numberingSkipped.inc(count);
          this.log.warn({ scope, from, count }, 'counter write outcome unknown; its range is skipped');
        }
        expected = settled.next;
        this.known.set(key, expected);
        continue;
      }
      if (outcome.applied) return this.claimed(key, from, count);
      numberingCas.inc({ result: 'not_applied' });
      // A re-sent applied write answers "not applied" showing our own claim id: the range is ours.
      if (outcome.claim === claim) return this.claimed(key, from, count);
      expected = outcome.current;
      this.known.set(key, expected);
      // Lost races across processes: a little jitter after a few keeps them from marching in lock step.
      if (attempt > 2) await sleep(Math.random() * 2 * attempt);
    }
    throw unavailable('too much contention on this counter; retry');
  }

  private claimed(key: string, from: number, count: number): number {
    numberingCas.inc({ result: 'applied' });
    numberingClaimSize.observe(count);
    this.known.set(key, from + count);
    this.observe(key, from + count);
    return from;
  }

  /** Keeps the highest counter value seen for a parent: the floor no later claim goes below. */
  private observe(key: string, next: number | null): void {
    if (next !== null && next > (this.floors.get(key) ?? 0)) this.floors.set(key, next);
  }
}
