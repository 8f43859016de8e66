import { createHash } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Appended } from '../storage/bucketed-log.js';
import type { ChatIdempotencyStore } from './idempotency-store.js';
import type { NumberAllocator } from './numbering.js';

export interface Created<T> { item: T; replayed: boolean }

export interface CreateSpec<T> {
  /** Conditional insert under `number`: the row stored under it afterwards, and whether we wrote it. */
  insert(number: number): Promise<{ applied: boolean; item: T }>;
  /**
   * Appends the change entry: before the row is written (an intent; consumers re-read the row), and again when
   * the write ended too late for that entry's bucket or failed (its outcome may still land).
   */
  changed(number: number): Promise<Appended>;
  /** What identifies the request for an Idempotency-Key (same key + other content = 422). */
  content: unknown;
}

/**
 * The create path shared by chats and messages: take a number, append the change entry, write the row IF NOT
 * EXISTS. With an Idempotency-Key the key is bound to its number by an LWT first, so a retry (even one racing
 * the first attempt) writes or finds the same number.
 */
export class NumberedCreator {
  constructor(private readonly numbers: NumberAllocator, private readonly keys: ChatIdempotencyStore,
    private readonly keyTtlSeconds: number, private readonly log: Logger) {}

  async create<T>(appId: string, scope: number, spec: CreateSpec<T>, key?: string): Promise<Created<T>> {
    if (key === undefined) return this.fresh(appId, scope, spec);
    const fingerprint = createHash('sha256').update(JSON.stringify(spec.content)).digest('base64url');
    const known = await this.keys.find(appId, scope, key);
    if (known) return this.redrive(known, fingerprint, spec);
    const number = await this.numbers.next(appId, scope);
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
    if (!claim.applied) return this.redrive(claim, fingerprint, spec);
    return this.write(number, spec);
  }

  private async fresh<T>(appId: string, scope: number, spec: CreateSpec<T>): Promise<Created<T>> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const number = await this.numbers.next(appId, scope);
      const created = await this.write(number, spec);
      if (!created.replayed) return created;
      // A fresh number that is already taken would mean the counter went backwards: never overwrite, take another.
      this.log.error({ scope, number }, 'freshly claimed number already used; taking another');
    }
    throw new AppError(500, 'internal', 'could not allocate a number');
  }

  /** A key's number: write it (its first attempt died before its row) or find what the first attempt wrote. */
  private async redrive<T>(claim: { number: number; fingerprint: string }, fingerprint: string,
    spec: CreateSpec<T>): Promise<Created<T>> {
    if (claim.fingerprint !== fingerprint) {
      throw new AppError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request body');
    }
    return this.write(claim.number, spec);
  }

  /**
   * The entry goes first, so every row written has one, whatever happens after the insert (a lost answer, a
   * crash, a keyed replay of a first attempt that died between its row and its entry). An entry whose insert
   * did not apply costs a consumer one re-read.
   */
  private async write<T>(number: number, spec: CreateSpec<T>): Promise<Created<T>> {
    const intent = await spec.changed(number);
    let result;
    try {
      result = await spec.insert(number);
    } catch (err) {
      // The row may or may not exist now, and may land later: another entry makes the consumers look again.
      await spec.changed(number).catch(() => undefined);
      throw err;
    }
    if (!intent.covers()) await spec.changed(number);
    return { item: result.item, replayed: !result.applied };
  }
}
