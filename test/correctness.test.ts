import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, testConfig, uniqueUser } from './support/harness.js';
import { faultyDb, sleep, socketClosedError, type FaultyDb } from './support/faulty-db.js';
import { Db, CasOutcomeUnknown } from '../src/storage/cassandra.js';
import { migrate } from '../src/storage/migrator.js';
import { inboxStores } from '../src/inbox/stores.js';
import { CURSOR_CLAIM_HISTORY } from '../src/inbox/cursor-store.js';
import { MessageService } from '../src/inbox/message-service.js';
import type { Clock } from '../src/clock.js';
import { WriterLease } from '../src/ids/writer-lease.js';
import { AppError } from '../src/errors.js';
import type { Config } from '../src/config.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/http/app.js';
import { chatRoutes } from '../src/http/chat-routes.js';
import { createValidators } from '../src/inbox/validation.js';
import { idTime } from '../src/ids/id-layout.js';

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
    const { user, created } = await userWithPending('b1-prune', 10);
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

  it('when a keyed first attempt\'s listable write is held up on the wire past the settle window and a retry fences it, then exactly one message is listed', async () => {
    const user = uniqueUser('d4');
    const key = `key-${user}`;
    const input = { username: user, text: 'once', timeout: 600 };
    // The per-user row is built (write timestamp fixed) inside the deadline, and reaches Cassandra 5 s later: after
    // the retry's fence. Only the fence's later write timestamp keeps it out of lists.
    const stalled = faultyDb(db, { wireDelayMs: (st) => (st === 'insert_message_by_user' ? 5_000 : 0) });
    const first = service(stalled.db).createIdempotent(input, key).then(() => 'acknowledged', () => 'refused');
    await sleep(4_500);
    const retry = await service().createIdempotent(input, key);
    assert.equal(retry.replayed, false, 'the retry stored a new id');
    assert.equal(await first, 'refused', 'the stalled attempt is not acknowledged');
    assert.equal(stalled.count('insert_message_by_user'), 1, 'the first attempt\'s listable write was sent');
    const listed = await drain(service(), user);
    assert.deepEqual(listed, [retry.id], 'one message, under the id the retry answered');
  });

  it('when an Idempotency-Key claim\'s outcome is unknown and the read-back finds no row, then 503 (retry), never 422', async () => {
    const user = uniqueUser('b9');
    const key = `key-${user}`;
    const input = { username: user, text: 'b9', timeout: 600 };
    let lost = 0;
    // The claim never reached Cassandra, but its answer is an open outcome: the SERIAL read finds no key.
    const broken = faultyDb(db, {
      beforeSend: (st) => { if (st === 'idempotency_claim' && lost++ === 0) throw new CasOutcomeUnknown(st); },
    });
    await assert.rejects(service(broken.db).createIdempotent(input, key), (e: AppError) => e.status === 503);
    const retry = await service().createIdempotent(input, key);
    assert.equal(retry.replayed, false);
    assert.deepEqual(await drain(service(), user), [retry.id]);
  });

  describe('a keyed POST /chat retried after the per-user row has gone (review B2)', () => {
    // Per-user rows live timeout + 1 s here (60 s by default), so the retry comes after the row's TTL in seconds.
    const shortRows = () => testConfig({ ...SETTINGS, USER_ROW_GRACE_SECONDS: '1' });
    let base = '';
    let server: http.Server;
    before(async () => {
      const c = shortRows();
      const app = createApp(log, [chatRoutes(new MessageService(inboxStores(db), lease, c, log), createValidators(c), c, log)]);
      server = http.createServer(app.callback());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    const post = (user: string, key: string) => fetch(`${base}/chat`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ username: user, text: 'only once', timeout: 1 }),
    });
    const list = async (user: string) => ((await (await fetch(`${base}/chats/${user}`)).json()) as { id: number }[])
      .map((m) => m.id);
    /** Past the 4 s settle window, and the per-user row (TTL 1 + 1 s) is gone. */
    async function rowGone(user: string, id: number) {
      await sleep(Math.max(0, idTime(id) + 4_500 - Date.now()));
      assert.equal(await inboxStores(db).messages.userRowWrittenAt(user, id), null, 'the per-user row expired');
    }

    it('when the first message was delivered, then the retry replays its id and the recipient never gets it twice', async () => {
      const user = uniqueUser('b2-read');
      const key = `key-${user}`;
      const created = await post(user, key);
      assert.equal(created.status, 201);
      const { id } = (await created.json()) as { id: number };
      assert.deepEqual(await list(user), [id]);
      await rowGone(user, id);
      const retry = await post(user, key);
      assert.equal(retry.status, 201);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(await retry.json(), { id });
      assert.deepEqual(await list(user), [], 'not delivered a second time');
    });

    it('when the first message timed out unread, then the retry replays its id and does not resurrect it', async () => {
      const user = uniqueUser('b2-expired');
      const key = `key-${user}`;
      const { id } = (await (await post(user, key)).json()) as { id: number };
      await rowGone(user, id);
      const retry = await post(user, key);
      assert.equal(retry.status, 201);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(await retry.json(), { id });
      assert.deepEqual(await list(user), [], 'a timed-out message is not listed again under a new id');
    });
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
