import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, testConfig, uniqueUser } from './support/harness.js';
import { faultyDb, sleep } from './support/faulty-db.js';
import { Db, CasOutcomeUnknown } from '../src/storage/cassandra.js';
import { migrate } from '../src/storage/migrator.js';
import { inboxStores } from '../src/inbox/stores.js';
import { MessageService, type Clock } from '../src/inbox/message-service.js';
import { WriterLease } from '../src/ids/writer-lease.js';
import { AppError } from '../src/errors.js';
import type { Config } from '../src/config.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/http/app.js';
import { chatRoutes } from '../src/http/chat-routes.js';
import { createValidators } from '../src/inbox/validation.js';

/**
 * The review's defects (../shared/reviews/inbox-correctness.md), each reproduced on the single node by injecting
 * the fault through a wrapper around the data-access client: a statement sent twice, delayed, failed once, or a
 * process whose clock runs ahead. Settle window 4 s, skew budget 1 s: acknowledgement deadline 2.5 s.
 */
const SETTINGS = {
  DELIVERY_SETTLE_MS: '4000', MAX_CLOCK_SKEW_MS: '1000', CASSANDRA_REQUEST_TIMEOUT_MS: '1000',
};

describe('correctness under injected faults (review defects D1-D4, D6)', () => {
  let config: Config;
  let db: Db;
  let lease: WriterLease;

  before(async () => {
    config = testConfig(SETTINGS);
    db = new Db(config, log);
    await db.connect();
    await migrate(db, log);
    lease = new WriterLease(db, log, config.WRITER_LEASE_TTL_MS);
    await lease.start();
  });
  after(async () => {
    await lease?.stop();
    await db?.shutdown();
  });

  const service = (client: Db = db, now: Clock = Date.now) =>
    new MessageService(inboxStores(client), lease, config, log, now);

  async function drain(s: MessageService, user: string): Promise<number[]> {
    const out: number[] = [];
    for await (const batch of s.consume(user)) out.push(...batch.map((m) => m.id));
    return out;
  }

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

  it('when a cursor CAS applies but its answer times out, then one SERIAL read finds it was ours and the page is delivered', async () => {
    const user = uniqueUser('d1-timeout');
    const created: number[] = [];
    for (let i = 0; i < 10; i++) created.push(await service().create({ username: user, text: `t${i}`, timeout: 600 }));
    const lost = faultyDb(db, {
      afterSend: (st) => {
        if (st === 'cursor_create' || st === 'cursor_advance') throw new CasOutcomeUnknown(st);
      },
    });
    const first = await drain(service(lost.db), user);
    assert.deepEqual([...first].sort(), [...created].sort());
    assert.deepEqual(await drain(service(), user), []);
  });

  it('when an Idempotency-Key claim is sent twice, then the request is not refused as "in progress"', async () => {
    const twice = faultyDb(db, { twice: (st) => st === 'idempotency_claim' });
    const user = uniqueUser('d1-key');
    const res = await service(twice.db).createIdempotent({ username: user, text: 'k', timeout: 600 }, `key-${user}`);
    assert.equal(res.replayed, false);
    assert.deepEqual(await drain(service(), user), [res.id]);
  });

  it('when the per-user write of a keyed create fails, then the retry answers the same id only once it is listable', async () => {
    const user = uniqueUser('d2');
    const key = `key-${user}`;
    let failed = 0;
    const flaky = faultyDb(db, {
      beforeSend: (st) => {
        if (st === 'insert_message_by_user' && failed++ === 0) throw new AppError(503, 'unavailable', 'injected');
      },
    });
    const input = { username: user, text: 'half-stored', timeout: 600 };
    await assert.rejects(service(flaky.db).createIdempotent(input, key), (e: AppError) => e.status === 503);
    const retry = await service().createIdempotent(input, key);
    assert.equal(retry.replayed, true);
    assert.deepEqual(await drain(service(), user), [retry.id], 'the acknowledged message is listed');
  });

  it('when a keyed retry comes while the first attempt is stalled past the settle window, then exactly one message is listed', async () => {
    const user = uniqueUser('d4');
    const key = `key-${user}`;
    const input = { username: user, text: 'once', timeout: 600 };
    const stalled = faultyDb(db, { beforeSend: async (st) => { if (st === 'insert_message_and_index') await sleep(5_000); } });
    const first = service(stalled.db).createIdempotent(input, key).then(() => 'acknowledged', () => 'refused');
    await sleep(4_500);
    const retry = await service().createIdempotent(input, key);
    assert.equal(retry.replayed, false, 'the retry stored a new id');
    assert.equal(await first, 'refused', 'the stalled attempt is not acknowledged');
    await sleep(500);
    const listed = await drain(service(), user);
    assert.deepEqual(listed, [retry.id], 'one message, under the id the retry answered');
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
    const app = createApp(log, [chatRoutes(service(broken.db), createValidators(config), config, log)]);
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
