import { describe, it } from 'node:test';
import { inboxStores } from '../../src/inbox/stores.js';
import assert from 'node:assert/strict';
import { log, uniqueUser } from '../support/harness.js';
import { faultyDb, sleep, socketClosedError, type FaultyDb } from '../support/faulty-db.js';
import { CasOutcomeUnknown } from '../../src/storage/cassandra.js';
import { CURSOR_CLAIM_HISTORY } from '../../src/inbox/cursor-store.js';
import { RECENT_PRUNE_THRESHOLD } from '../../src/inbox/delivery-decision.js';
import { AppError } from '../../src/errors.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/http/app.js';
import { inboxRoutes } from '../../src/http/inbox/routes.js';
import { listAuthorizer } from '../../src/http/auth.js';
import { inboxRoutesSettings, inboxValidationSettings, listAuthSettings } from '../../src/settings.js';
import { createValidators } from '../../src/inbox/validation.js';
import { faultSuite, config, db, service, drain } from './fault-suite.js';

/** A list read whose cursor CAS is sent twice, lost, late or cut by a closed socket; clocks ahead; timeout 0. */
describe('correctness under injected faults: the delivery cursor (review defects D1-D4, D6)', () => {
  faultSuite();

  it('when an applied cursor CAS is sent twice and the second send answers "not applied", then its page is still delivered', async () => {
    const user = uniqueUser('d1-dup');
    const created: number[] = [];
    for (let i = 0; i < 30; i++) created.push(await service().create({ username: user, text: `m${i}`, timeout: 600 }));
    const twice = faultyDb(db, { twice: (st) => st === 'cursor_create' || st === 'cursor_advance' });
    const first = await drain(service(twice.db), user);
    const rest = await drain(service(), user);
    assert.ok(twice.count('cursor_create') + twice.count('cursor_advance') > 0, 'the cursor CAS ran through the fault');
    assert.deepEqual([...first, ...rest].sort(), [...created].sort(), 'every message delivered exactly once');
    assert.equal(first.length, created.length, 'the read that claimed the page delivered it');
  });

  /**
   * Review B1 (the 9 messages lost in the node-kill history): reader A's cursor CAS applies, reader B runs a whole
   * list on top of it (`onTop`), and only then A's answer is lost. A's SERIAL read-back sees B's claim as current.
   */
  async function claimThenLose(user: string, onTop: () => Promise<void>): Promise<number[]> {
    let fired = false;
    const lost = faultyDb(db, {
      afterSend: async (st) => {
        if (st !== 'cursor_advance' || fired) return;
        fired = true;
        await onTop();
        throw new CasOutcomeUnknown(st);
      },
    });
    const delivered = await drain(service(lost.db), user);
    assert.ok(fired, 'the fault ran');
    return delivered;
  }

  /** A user whose cursor exists (so the next claim is a cursor_advance), with `n` new messages pending. */
  async function userWithPending(prefix: string, n: number): Promise<{ user: string; created: number[] }> {
    const user = uniqueUser(prefix);
    const seed = await service().create({ username: user, text: 'seed', timeout: 600 });
    assert.deepEqual(await drain(service(), user), [seed]);
    const created: number[] = [];
    for (let i = 0; i < n; i++) created.push(await service().create({ username: user, text: `t${i}`, timeout: 600 }));
    return { user, created };
  }

  it('when a cursor CAS applies, a second reader delivers a newer message on top, and then the first answer times out, then every message is delivered exactly once', async () => {
    const { user, created } = await userWithPending('b1-deliver', 10);
    let newer = 0;
    let second: number[] = [];
    const first = await claimThenLose(user, async () => {
      newer = await service().create({ username: user, text: 'newer', timeout: 600 });
      second = await drain(service(), user);
    });
    const later = await drain(service(db, () => Date.now() + 5_000), user);
    assert.deepEqual(second, [newer], 'the second reader committed its own claim on top');
    assert.deepEqual([...first].sort(), [...created].sort(), 'the reader whose claim applied delivered its page');
    assert.deepEqual(later, []);
  });

  it('when a cursor CAS applies, a second reader only prunes the cursor on top, and then the first answer times out, then the page is still delivered', async () => {
    // As many as a page that delivers nothing commits to prune (fewer stay in recent without a Paxos round).
    const { user, created } = await userWithPending('b1-prune', RECENT_PRUNE_THRESHOLD);
    let second: number[] = [];
    let versionBefore = 0;
    const first = await claimThenLose(user, async () => {
      versionBefore = (await inboxStores(db).cursors.readCursor(user)).version;
      // 5 s ahead: past the 4 s settle window, so it moves the watermark over the claimed ids and commits that.
      second = await drain(service(db, () => Date.now() + 5_000), user);
    });
    assert.deepEqual(second, []);
    assert.ok((await inboxStores(db).cursors.readCursor(user)).version > versionBefore, 'the pruning reader committed');
    assert.deepEqual([...first].sort(), [...created].sort());
  });

  it(`when more than ${CURSOR_CLAIM_HISTORY} cursor writes land on top of an applied CAS before its answer is lost, then the read fails as outcome-unknown, never as "not applied"`, async () => {
    const { user, created } = await userWithPending('b1-deep', 3);
    const others: number[] = [];
    const first = claimThenLose(user, async () => {
      for (let i = 0; i <= CURSOR_CLAIM_HISTORY; i++) {
        await service().create({ username: user, text: `o${i}`, timeout: 600 });
        others.push(...await drain(service(), user));
      }
    });
    await assert.rejects(first, (e) => e instanceof CasOutcomeUnknown, 'in doubt: the caller cuts the stream');
    assert.equal(others.length, CURSOR_CLAIM_HISTORY + 1);
    assert.ok(created.every((id) => !others.includes(id)), 'the claimed page stayed claimed');
  });

  it('when a cursor CAS is still in flight after its client gave up and lands just after the read-back found the row untouched, then its page is still delivered once', async () => {
    const { user, created } = await userWithPending('inflight', 10);
    let held = false;
    let released = false;
    const faulty: FaultyDb = faultyDb(db, {
      defer: (st) => st === 'cursor_advance' && !held && (held = true),
      afterSend: async (st) => {
        // The SERIAL read-back has answered "untouched"; now the held CAS reaches Cassandra and applies.
        if (st === 'select_cursor' && held && !released) {
          released = true;
          await faulty.releaseDeferred();
        }
      },
    });
    const first = await drain(service(faulty.db), user);
    assert.ok(released, 'the held CAS was sent after the read-back');
    const later = await drain(service(db, () => Date.now() + 5_000), user);
    assert.deepEqual([...first].sort(), [...created].sort(), 'the reader whose claim landed late delivered its page');
    assert.deepEqual(later, []);
  });

  it('when the socket closes after an applied cursor CAS was written, then the outcome is settled like a timeout and the page is delivered', async () => {
    const user = uniqueUser('b8-lwt');
    const created: number[] = [];
    for (let i = 0; i < 5; i++) created.push(await service().create({ username: user, text: `s${i}`, timeout: 600 }));
    let closed = 0;
    const broken = faultyDb(db, {
      driverError: (st) => (st === 'cursor_create' && closed++ === 0 ? socketClosedError() : undefined),
    });
    const first = await drain(service(broken.db), user);
    assert.equal(closed, 1, 'the CAS ran and its answer was replaced by a closed socket');
    assert.deepEqual([...first].sort(), [...created].sort());
    assert.deepEqual(await drain(service(), user), []);
  });

  it('when the socket closes after a plain read was written, then the caller gets a 503, not a raw driver error', async () => {
    const user = uniqueUser('b8-plain');
    await service().create({ username: user, text: 'p', timeout: 600 });
    const broken = faultyDb(db, { driverError: (st) => (st === 'select_pending' ? socketClosedError() : undefined) });
    await assert.rejects(drain(service(broken.db), user),
      (e) => e instanceof AppError && !(e instanceof CasOutcomeUnknown) && e.status === 503);
  });


  it('when a create outlasts the acknowledgement deadline and a reader runs 1 s ahead, then it is refused rather than acknowledged and lost', async () => {
    const user = uniqueUser('d3');
    const slow = faultyDb(db, { beforeSend: async (st) => { if (st === 'insert_message_by_user') await sleep(3_300); } });
    const started = Date.now();
    const slowCreate = service(slow.db).create({ username: user, text: 'slow', timeout: 600 })
      .then((id) => ({ id, status: 201 }), (e: AppError) => ({ id: 0, status: e.status }));
    await sleep(100);
    const fast = await service().create({ username: user, text: 'fast', timeout: 600 });
    await sleep(Math.max(0, started + 3_100 - Date.now()));
    const delivered = await drain(service(db, () => Date.now() + 1_000), user);
    const outcome = await slowCreate;
    delivered.push(...await drain(service(), user));
    assert.ok(delivered.includes(fast));
    if (outcome.status === 201) assert.ok(delivered.includes(outcome.id), 'an acknowledged message is delivered');
    assert.equal(outcome.status, 503, 'a create slower than settle - skew - margin is not acknowledged');
  });

  it('when a message with timeout 0 is created while a backlog streams, then it is never listed', async () => {
    const user = uniqueUser('d6');
    const backlog: number[] = [];
    for (let i = 0; i < 120; i++) backlog.push(await service().create({ username: user, text: `b${i}`, timeout: 600 }));
    const reads = service().consume(user);
    const first = await reads.next();
    assert.ok(!first.done && first.value.length < backlog.length, 'the backlog takes several pages');
    const expiredAtBirth = await service().create({ username: user, text: 'zero', timeout: 0 });
    const delivered = first.done ? [] : first.value.map((m) => m.id);
    for await (const batch of reads) delivered.push(...batch.map((m) => m.id));
    delivered.push(...await drain(service(), user));
    assert.ok(!delivered.includes(expiredAtBirth), 'timeout 0 is never listed');
    assert.deepEqual([...delivered].sort(), [...backlog].sort());
  });

  it('when a later page\'s claim has an outcome nobody can settle, then GET /chats is cut short, never a complete-looking array', async () => {
    const user = uniqueUser('d1-stream');
    for (let i = 0; i < 120; i++) await service().create({ username: user, text: `s${i}`, timeout: 600 });
    let claims = 0;
    const broken = faultyDb(db, {
      beforeSend: (st) => {
        // Second page on: the claim's answer is lost, and so is every SERIAL read that could settle it.
        if ((st === 'cursor_advance' || st === 'cursor_create') && ++claims > 1) throw new CasOutcomeUnknown(st);
        if (st === 'select_cursor' && claims > 1) throw new AppError(503, 'unavailable', 'injected');
      },
    });
    const app = createApp(log, [inboxRoutes(service(broken.db), createValidators(inboxValidationSettings(config)),
      inboxRoutesSettings(config), listAuthorizer(listAuthSettings(config)), log)]);
    const server = http.createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/chats/${user}`);
      assert.equal(res.status, 200, 'the first page was claimed and streams');
      await assert.rejects(res.text(), 'the body ends without its closing bracket: the client sees a failure');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
