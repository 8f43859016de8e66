import { createHash } from 'node:crypto';
import { idempotencyKeyReused, notFound, unavailable } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Appended } from '../storage/bucketed-log.js';
import type { ChatIdempotencyStore, StoredKey } from './idempotency-store.js';
import type { NumberAllocator } from './numbering.js';

export interface Created<T> { item: T; replayed: boolean }

export interface CreateSpec<T> {
  /**
   * Conditional insert under `number`: whether we wrote it, and the row stored under it afterwards (null: that
   * row was deleted since).
   */
  insert(number: number, beforeRow: () => void): Promise<{ applied: boolean; item: T | null }>;
  /** The highest number stored for this parent at or above `from` (`from` itself when nothing is above it). */
  highest(from: number): Promise<number>;
  /**
   * Takes `number` for good without a row a client could see (a deleted placeholder, IF NOT EXISTS), so a
   * stalled first attempt can no longer land there; not applied: the row already there (item null: deleted).
   */
  fence(number: number): Promise<{ applied: boolean; item: T | null; placeholder: boolean }>;
  /**
   * Appends the change entry: before the row is written (an intent; consumers re-read the row), and again when
   * the write ended too late for that entry's bucket or failed (its outcome may still land).
   */
  changed(number: number): Promise<Appended>;
  /** What identifies the request for an Idempotency-Key (same key + other content = 422). */
  content: unknown;
  /** Whether a stored row holds this request's content (a racing retry of the same key may have written it). */
  matches(item: T): boolean;
}

/** Fresh numbers found taken before a create gives up (503): each one moves the counter past the stored rows. */
const TAKEN_ATTEMPTS = 3;

/**
 * The create path shared by chats and messages: take a number, append the change entry, write the row IF NOT
 * EXISTS. With an Idempotency-Key the key is bound to its number by an LWT first, so a retry (even one racing
 * the first attempt) writes or finds the same number.
 */
export class NumberedCreator {
  constructor(private readonly numbers: NumberAllocator, private readonly keys: ChatIdempotencyStore,
    private readonly keyTtlSeconds: number, private readonly log: Logger,
    /**
     * How long after its number was claimed a row may still be sent (settings.rowDeadlineMs): pages treat a hole as
     * settled once the row after it is lateRowWindowMs old, which covers this deadline, the insert's own time and
     * the clock skew. Past it the row is not sent (503, the number becomes a gap or, keyed, is fenced on retry).
     */
    private readonly rowDeadlineMs = Number.POSITIVE_INFINITY) {}

  async create<T>(appId: string, scope: number, spec: CreateSpec<T>, key?: string): Promise<Created<T>> {
    if (key === undefined) return this.fresh(appId, scope, spec);
    const fingerprint = createHash('sha256').update(JSON.stringify(spec.content)).digest('base64url');
    const known = await this.keys.find(appId, scope, key);
    if (known) return this.redrive(appId, scope, key, known, fingerprint, spec);
    let claimedAt = Date.now();
    let number = await this.numbers.next(appId, scope);
    let claim;
    try {
      claim = await this.keys.claim(appId, scope, key, number, fingerprint, this.keyTtlSeconds);
    } catch (err) {
      // Unknown outcome: a SERIAL read says who holds the key now.
      const settled = await this.keys.find(appId, scope, key, true);
      if (!settled) throw err;
      claim = { applied: settled.number === number && settled.fingerprint === fingerprint, ...settled };
    }
    // Lost the key race: our number becomes a gap, the winner's number is the answer.
    if (!claim.applied) return this.redrive(appId, scope, key, { ...claim, claimedAt: Date.now() }, fingerprint, spec);
    for (let attempt = 1; ; attempt++) {
      const created = await this.write(number, claimedAt, spec);
      if (!created.replayed) return { item: created.item!, replayed: false };
      // A retry of this key, racing us, wrote our number first: that row is ours.
      if (created.item !== null && spec.matches(created.item)) return { item: created.item, replayed: true };
      // Our fresh number holds another request's row: the counter went backwards. Move it past the stored rows,
      // take a new number and re-point the key to it (only while the key still names the taken one). A row of
      // another request with the very same content is taken as ours: indistinguishable, and no duplicate either.
      if (attempt >= TAKEN_ATTEMPTS) throw unavailable('could not allocate a number; retry');
      claimedAt = Date.now();
      const next = await this.replace(appId, scope, number, spec);
      const moved = await this.keys.retarget(appId, scope, key, number, next, fingerprint, this.keyTtlSeconds);
      if (!moved) {
        const now = await this.keys.find(appId, scope, key, true);
        if (!now) throw unavailable('the Idempotency-Key changed concurrently; retry');
        return this.redrive(appId, scope, key, now, fingerprint, spec);
      }
      number = next;
    }
  }

  private async fresh<T>(appId: string, scope: number, spec: CreateSpec<T>): Promise<Created<T>> {
    // Taken before the claim is sent: the number may be ours (and the next one someone else's) from then on.
    let claimedAt = Date.now();
    let number = await this.numbers.next(appId, scope);
    for (let attempt = 1; ; attempt++) {
      const created = await this.write(number, claimedAt, spec);
      if (!created.replayed) return { item: created.item!, replayed: false };
      // A fresh number that is already taken means the counter went backwards: never overwrite, move on.
      if (attempt >= TAKEN_ATTEMPTS) throw unavailable('could not allocate a number; retry');
      claimedAt = Date.now();
      number = await this.replace(appId, scope, number, spec);
    }
  }

  /**
   * A fresh number that is already stored: the counter is behind the stored rows. One read finds the highest
   * stored number, and the next claim moves the counter past it in the same conditional write that claims the
   * new number (one Paxos round, not one lost create per taken number).
   */
  private async replace<T>(appId: string, scope: number, taken: number, spec: CreateSpec<T>): Promise<number> {
    const highest = await spec.highest(taken);
    this.log.error({ scope, number: taken, highest }, 'freshly claimed number already used; moving the counter past the stored rows');
    this.numbers.raise(appId, scope, highest);
    return this.numbers.next(appId, scope);
  }

  /**
   * A key's number: write it (its first attempt died before its row) or find what the first attempt wrote.
   * Past the row deadline a missing row is no longer written under the old number (lists may move past that
   * hole before the row would land): the number is fenced, and the key re-pointed to a new number with a
   * compare-and-set.
   */
  private async redrive<T>(appId: string, scope: number, key: string, claim: StoredKey, fingerprint: string,
    spec: CreateSpec<T>): Promise<Created<T>> {
    if (claim.fingerprint !== fingerprint) {
      throw idempotencyKeyReused();
    }
    if (Date.now() - claim.claimedAt > this.rowDeadlineMs) {
      const fenced = await spec.fence(claim.number);
      if (fenced.applied || fenced.placeholder) {
        const number = await this.numbers.next(appId, scope);
        this.log.info({ scope, from: claim.number, to: number }, 'keyed re-drive past the row deadline; new number');
        if (!await this.keys.retarget(appId, scope, key, claim.number, number, fingerprint, this.keyTtlSeconds)) {
          const now = await this.keys.find(appId, scope, key, true);
          if (!now) throw unavailable('the Idempotency-Key changed concurrently; retry');
          return this.redrive(appId, scope, key, now, fingerprint, spec);
        }
        return this.redrive(appId, scope, key, { number, fingerprint, claimedAt: Date.now() }, fingerprint, spec);
      }
      if (fenced.item === null) throw notFound(`number ${claim.number}, created with this key, was deleted`);
      // The first attempt's row is there, but maybe without an entry covering when it landed (its insert outlived
      // its intent's bucket and the entry after it failed): one more entry makes the consumers read the row.
      await spec.changed(claim.number);
      return { item: fenced.item, replayed: true };
    }
    const created = await this.write(claim.number, claim.claimedAt, spec);
    // An Idempotency-Key replay of a create whose row was deleted since: the number stays taken.
    if (created.item === null) throw notFound(`number ${claim.number}, created with this key, was deleted`);
    return { item: created.item, replayed: created.replayed };
  }

  /**
   * Writes the row under `number`; `replayed`: a row was already there (`item` null: deleted since). The entry
   * goes first, so every row written has one, whatever happens after the insert (a lost answer, a crash, a keyed
   * replay of a first attempt that died between its row and its entry). An entry whose insert did not apply
   * costs a consumer one re-read. The insert is not sent past the row deadline: a create stalled that long (a
   * paused process, a slow entry) would land its row where pages may already have passed the hole.
   */
  private async write<T>(number: number, claimedAt: number, spec: CreateSpec<T>): Promise<{ item: T | null; replayed: boolean }> {
    const intent = await spec.changed(number);
    const beforeRow = () => {
      if (Date.now() - claimedAt > this.rowDeadlineMs) {
        this.log.warn({ number, ms: Date.now() - claimedAt }, 'row past its deadline; not sent');
        throw unavailable('write took too long; retry');
      }
    };
    beforeRow();
    let result;
    try {
      // An insert that does slow work first (a message uploads its body) checks the deadline again right
      // before its row: the deadline bounds when the row is sent, not when the insert began.
      result = await spec.insert(number, beforeRow);
    } catch (err) {
      // The row may or may not exist now, and may land later: another entry makes the consumers look again.
      await spec.changed(number).catch(() => undefined);
      throw err;
    }
    if (!intent.covers()) await spec.changed(number);
    return { item: result.item, replayed: !result.applied };
  }
}
