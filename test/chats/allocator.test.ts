import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ensureSchema, log, testConfig } from '../support/harness.js';
import { faultyDb } from '../support/faulty-db.js';
import { CasOutcomeUnknown, Db } from '../../src/storage/cassandra.js';
import { CounterStore } from '../../src/chats/counter-store.js';
import { NumberAllocator } from '../../src/chats/numbering.js';
import { range } from './support.js';
import { cassandraSettings } from '../../src/settings.js';

const OPTS = { coalesce: true, maxAttempts: 50 };

describe('number allocator', () => {
  let db: Db;
  before(async () => { await ensureSchema(); db = new Db(cassandraSettings(testConfig()), log); await db.connect(); });
  after(async () => { await db.shutdown(); });

  /** Sets a counter to `next` by hand, with a compare-and-set like every counter write (what lost Paxos state does). */
  async function setCounter(app: string, scope: number, next: number): Promise<void> {
    const id = app;
    const now = (await db.execute('test_counter_read', `SELECT next FROM ${db.hot}.number_counters
      WHERE app_id = ? AND chat_number = ?`, [id, scope], { consistency: db.serial })).first()!.get('next') as unknown;
    const rs = await db.execute('test_counter_set_back', `UPDATE ${db.hot}.number_counters SET next = ?
      WHERE app_id = ? AND chat_number = ? IF next = ?`, [next, id, scope, now], { idempotent: false });
    assert.ok(rs.wasApplied());
  }

  it('when concurrent creates for one parent wait on a claim, then they share one counter write and get consecutive numbers', async () => {
    const faulty = faultyDb(db, {});
    const counters = new CounterStore(faulty.db);
    const numbers = new NumberAllocator(counters, OPTS, log);
    const app = randomUUID();
    const got = await Promise.all(Array.from({ length: 100 }, () => numbers.next(app, 1)));
    assert.deepEqual([...got].sort((a, b) => a - b), range(1, 100));
    assert.equal(await counters.read(app, 1), 101);
    // The first create starts a claim alone; the 99 that queued behind it share the next one.
    assert.equal(faulty.count('counter_create') + faulty.count('counter_advance'), 2);
  });

  it('when a counter write was applied but its reply was lost, then the claim id in the row shows it was ours and its range is used (no gap)', async () => {
    let lose = false;
    const faulty = faultyDb(db, { afterSend: (st) => {
      if (st === 'counter_advance' && lose) { lose = false; throw new CasOutcomeUnknown(st); }
    } });
    const numbers = new NumberAllocator(new CounterStore(faulty.db), OPTS, log);
    const app = randomUUID();
    assert.equal(await numbers.next(app, 7), 1);
    lose = true;
    assert.equal(await numbers.next(app, 7), 2, 'number 2 was claimed by the write whose answer was lost: it is ours');
    assert.equal(faulty.count('counter_advance'), 1, 'settled by a read, not by writing again');
    assert.equal(await numbers.next(app, 7), 3);
  });

  it('when an applied counter write\'s reply is lost after another allocator claimed on top of it, then its range is skipped, never handed out twice', async () => {
    const app = randomUUID();
    const other = new NumberAllocator(new CounterStore(db), OPTS, log);
    let otherGot: number | null = null;
    let lose = false;
    const faulty = faultyDb(db, { afterSend: async (st) => {
      if (st !== 'counter_advance' || !lose) return;
      lose = false;
      otherGot = await other.next(app, 7);
      throw new CasOutcomeUnknown(st);
    } });
    const numbers = new NumberAllocator(new CounterStore(faulty.db), OPTS, log);
    assert.equal(await numbers.next(app, 7), 1);
    lose = true;
    const second = await numbers.next(app, 7);
    assert.equal(otherGot, 3, 'the other allocator claimed on top of our applied range');
    assert.equal(second, 4, 'unsure whether 2 was ours: skipped (a gap), and 3 is not handed out again');
  });

  it('when a counter write never reached Cassandra, then the SERIAL read shows it unapplied and no number is lost', async () => {
    let fail = false;
    const faulty = faultyDb(db, { beforeSend: (st) => {
      if (st === 'counter_advance' && fail) { fail = false; throw new CasOutcomeUnknown(st); }
    } });
    const numbers = new NumberAllocator(new CounterStore(faulty.db), OPTS, log);
    const app = randomUUID();
    assert.equal(await numbers.next(app, 7), 1);
    fail = true;
    assert.equal(await numbers.next(app, 7), 2);
  });

  it('when an applied counter write is sent twice and the second answer is "not applied", then the claim id shows it was ours', async () => {
    let twice = false;
    const faulty = faultyDb(db, { twice: (st) => st === 'counter_advance' && twice });
    const numbers = new NumberAllocator(new CounterStore(faulty.db), OPTS, log);
    const app = randomUUID();
    assert.equal(await numbers.next(app, 9), 1);
    twice = true;
    assert.equal(await numbers.next(app, 9), 2);
    twice = false;
    assert.equal(await numbers.next(app, 9), 3);
  });

  it('when the counter goes backwards under an allocator, then it never hands out a number again but claims above the highest it saw, in one write', async () => {
    const faulty = faultyDb(db, {});
    const numbers = new NumberAllocator(new CounterStore(faulty.db), OPTS, log);
    const app = randomUUID();
    for (const n of range(1, 5)) assert.equal(await numbers.next(app, 4), n);
    await setCounter(app, 4, 2);
    const before = faulty.count('counter_advance');
    assert.equal(await numbers.next(app, 4), 6, 'not 2: that counter went backwards');
    assert.equal(await new CounterStore(db).read(app, 4), 7, 'the counter is moved past it');
    // One write lost to the stale value it knew (6), then one that moves the counter and claims together.
    assert.equal(faulty.count('counter_advance') - before, 2);
  });

  it('when two allocators (two processes) race on one parent, then every number is handed out once', async () => {
    const app = randomUUID();
    const a = new NumberAllocator(new CounterStore(db), OPTS, log);
    const b = new NumberAllocator(new CounterStore(db), { coalesce: false, maxAttempts: 50 }, log);
    const got = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 ? a : b).next(app, 3)));
    assert.deepEqual([...got].sort((x, y) => x - y), range(1, 120));
  });
});
