import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ensureSchema, log, testConfig } from '../support/harness.js';
import { Db } from '../../src/storage/cassandra.js';
import { CounterStore, type CasOutcome } from '../../src/chats/counter-store.js';
import { NumberAllocator } from '../../src/chats/numbering.js';
import { range } from './support.js';

/** The real counter store, except that chosen counter writes lose their reply (a client timeout). */
class LossyCounters extends CounterStore {
  /** 'after': the write is applied, then the reply is lost; 'before': the write never reaches Cassandra. */
  failures: Array<'after' | 'before'> = [];
  override async advance(appId: string, scope: number, expected: number, next: number): Promise<CasOutcome> {
    const failure = this.failures.shift();
    if (failure === 'before') throw new Error('timed out before sending');
    const outcome = await super.advance(appId, scope, expected, next);
    if (failure === 'after') throw new Error('timed out waiting for the reply');
    return outcome;
  }
}

/** The real counter store, counting its conditional writes. */
class CountingCounters extends CounterStore {
  writes = 0;
  override create(appId: string, scope: number, next: number) { this.writes += 1; return super.create(appId, scope, next); }
  override advance(appId: string, scope: number, expected: number, next: number) {
    this.writes += 1;
    return super.advance(appId, scope, expected, next);
  }
}

describe('number allocator', () => {
  let db: Db;
  before(async () => { await ensureSchema(); db = new Db(testConfig(), log); await db.connect(); });
  after(async () => { await db.shutdown(); });

  it('when concurrent creates for one parent wait on a claim, then they share one counter write and get consecutive numbers', async () => {
    const counters = new CountingCounters(db);
    const numbers = new NumberAllocator(counters, { coalesce: true, maxAttempts: 50 }, log);
    const app = randomUUID();
    const got = await Promise.all(Array.from({ length: 100 }, () => numbers.next(app, 1)));
    assert.deepEqual([...got].sort((a, b) => a - b), range(1, 100));
    assert.equal(await counters.read(app, 1), 101);
    // The first create starts a claim alone; the 99 that queued behind it share the next one.
    assert.equal(counters.writes, 2);
  });

  it('when a counter write was applied but its reply was lost, then its range is skipped (a gap), never handed out', async () => {
    const counters = new LossyCounters(db);
    const numbers = new NumberAllocator(counters, { coalesce: true, maxAttempts: 50 }, log);
    const app = randomUUID();
    assert.equal(await numbers.next(app, 7), 1);
    counters.failures.push('after');
    const second = await numbers.next(app, 7);
    assert.equal(second, 3, 'number 2 was claimed by the lost write: unsure, so skipped');
    assert.equal(await numbers.next(app, 7), 4);
  });

  it('when a counter write never reached Cassandra, then the SERIAL read shows it unapplied and no number is lost', async () => {
    const counters = new LossyCounters(db);
    const numbers = new NumberAllocator(counters, { coalesce: true, maxAttempts: 50 }, log);
    const app = randomUUID();
    assert.equal(await numbers.next(app, 7), 1);
    counters.failures.push('before');
    assert.equal(await numbers.next(app, 7), 2);
  });

  it('when two allocators (two processes) race on one parent, then every number is handed out once', async () => {
    const app = randomUUID();
    const a = new NumberAllocator(new CounterStore(db), { coalesce: true, maxAttempts: 50 }, log);
    const b = new NumberAllocator(new CounterStore(db), { coalesce: false, maxAttempts: 50 }, log);
    const got = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 ? a : b).next(app, 3)));
    assert.deepEqual([...got].sort((x, y) => x - y), range(1, 120));
  });
});
