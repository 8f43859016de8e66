import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, uniqueUser } from '../support/harness.js';
import { Db } from '../../src/storage/cassandra.js';
import { inboxStores } from '../../src/inbox/stores.js';
import { MessageService } from '../../src/inbox/message-service.js';
import type { Clock } from '../../src/clock.js';
import { CursorCache } from '../../src/inbox/cursor-cache.js';
import { config, db, drain, faultSuite, lease } from './fault-suite.js';
import { inboxSettings } from '../../src/settings.js';

/**
 * A list that finds nothing skips the cursor read when this process knows the user's cursor (src/inbox/
 * cursor-cache.ts); what it would claim is checked against the row first. Two MessageService instances over one
 * Cassandra are two service processes: each has its own cache, and the other one moves the cursor under it.
 */
describe('the delivery cursor a process remembers', () => {
  // One Cassandra, the default test configuration (the fault suites' short windows do not apply here).
  faultSuite({});

  /** A "process": its own service (and cache) over a client that notes every statement it sends. */
  function proc(now: Clock = Date.now): { service: MessageService; sent: string[] } {
    const sent: string[] = [];
    const spy = Object.create(db) as Db;
    spy.execute = (statement, cql, params, opts) => { sent.push(statement); return db.execute(statement, cql, params, opts); };
    spy.batch = (statement, queries) => { sent.push(statement); return db.batch(statement, queries); };
    return { service: new MessageService(inboxStores(spy), lease, inboxSettings(config), log, now), sent };
  }

  it('when the same process lists a user again and nothing is pending, then it reads one page and no cursor', async () => {
    const a = proc();
    const user = uniqueUser('cc-empty');
    const id = await a.service.create({ username: user, text: 'one', timeout: 600 });
    assert.deepEqual(await drain(a.service, user), [id]);
    a.sent.length = 0;
    assert.deepEqual(await drain(a.service, user), []);
    assert.deepEqual(a.sent, ['select_pending'], 'one statement: the page above the remembered watermark');
    const next = await a.service.create({ username: user, text: 'two', timeout: 600 });
    a.sent.length = 0;
    assert.deepEqual(await drain(a.service, user), [next]);
    assert.deepEqual(a.sent, ['select_pending', 'select_cursor', 'cursor_advance', 'mark_consumed'],
      'a claim is checked against the stored cursor first, then made by one compare-and-set');
  });

  it('when another process claimed messages after this one remembered the cursor, then nothing is delivered twice', async () => {
    const a = proc();
    const b = proc();
    const user = uniqueUser('cc-stale');
    const first = await a.service.create({ username: user, text: 'first', timeout: 600 });
    assert.deepEqual(await drain(a.service, user), [first], 'A remembers the cursor after its claim');
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await b.service.create({ username: user, text: `m${i}`, timeout: 600 }));
    assert.deepEqual(await drain(b.service, user), ids, 'B claims the five');
    a.sent.length = 0;
    assert.deepEqual(await drain(a.service, user), [], 'A, from its stale cursor, sees them as pending but delivers none');
    assert.deepEqual(a.sent.slice(0, 2), ['select_pending', 'select_cursor'], 'its would-be claim was checked first');
    assert.ok(!a.sent.includes('mark_consumed'), 'and nothing was claimed');
    const last = await b.service.create({ username: user, text: 'last', timeout: 600 });
    assert.deepEqual(await drain(a.service, user), [last], 'then A delivers what is new, once');
    assert.deepEqual(await drain(b.service, user), [], 'and B, stale now, not again');
  });

  it('when another process claimed everything and this one lists from its stale cursor, then the empty answer is right', async () => {
    const a = proc();
    const b = proc();
    const user = uniqueUser('cc-empty-stale');
    assert.deepEqual(await drain(a.service, user), [], 'A remembers "no cursor yet"');
    const id = await b.service.create({ username: user, text: 'only', timeout: 600 });
    assert.deepEqual(await drain(b.service, user), [id]);
    assert.deepEqual(await drain(a.service, user), [], 'B delivered it: A must not, though its cursor predates it');
  });

  it('when the stored cursor moved past more than a page since this process remembered it, then no row of any page below it is delivered again', async () => {
    const a = proc();
    const b = proc();
    // B's clock past the settle window: its second list moves the watermark over everything it delivered.
    const bLater = proc(() => Date.now() + config.DELIVERY_SETTLE_MS + 5_000);
    const user = uniqueUser('cc-pages');
    assert.deepEqual(await drain(a.service, user), [], 'A remembers "no cursor yet"');
    const ids: number[] = [];
    for (let i = 0; i < 120; i++) ids.push(await b.service.create({ username: user, text: `m${i}`, timeout: 600 }));
    assert.deepEqual(await drain(b.service, user), ids);
    assert.deepEqual(await drain(bLater.service, user), []);
    a.sent.length = 0;
    assert.deepEqual(await drain(a.service, user), [], 'A scans from watermark 0 over 120 delivered rows, delivers none');
    assert.ok(a.sent.filter((s) => s === 'select_pending').length >= 2, `more than one page was read: ${a.sent.join(', ')}`);
  });

  it('when both processes list the same user concurrently, then every message is delivered exactly once', async () => {
    const a = proc();
    const b = proc();
    const user = uniqueUser('cc-race');
    await drain(a.service, user);
    await drain(b.service, user);
    const created: number[] = [];
    const delivered: number[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 8; i++) created.push(await a.service.create({ username: user, text: `r${round}-${i}`, timeout: 600 }));
      const got = await Promise.all([drain(a.service, user), drain(b.service, user), drain(a.service, user)]);
      delivered.push(...got.flat());
    }
    delivered.push(...await drain(b.service, user));
    assert.deepEqual([...delivered].sort(), [...created].sort(), 'each created message exactly once');
  });

  it('when more users than its capacity are remembered, then the least recently used are forgotten', () => {
    const cache = new CursorCache(3);
    const c = (version: number) => ({ version, watermark: 0, recent: new Set<number>(), claim: null, claims: [] });
    cache.set('a', c(1));
    cache.set('b', c(1));
    cache.set('c', c(1));
    assert.equal(cache.get('a')?.version, 1, 'a is now the most recently used');
    cache.set('d', c(1));
    assert.equal(cache.size, 3);
    assert.equal(cache.get('b'), undefined, 'b was the least recently used');
    assert.ok(cache.get('a') && cache.get('c') && cache.get('d'));
  });
});
