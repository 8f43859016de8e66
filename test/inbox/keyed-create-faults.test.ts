import { after, before, describe, it } from 'node:test';
import { inboxStores } from '../../src/inbox/stores.js';
import assert from 'node:assert/strict';
import { log, testConfig, uniqueUser } from '../support/harness.js';
import { faultyDb, sleep } from '../support/faulty-db.js';
import { CasOutcomeUnknown } from '../../src/storage/cassandra.js';
import { MessageService } from '../../src/inbox/message-service.js';
import { AppError } from '../../src/errors.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/http/app.js';
import { inboxRoutes } from '../../src/http/inbox/routes.js';
import { listAuthorizer } from '../../src/http/auth.js';
import { inboxRoutesSettings, inboxSettings, inboxValidationSettings, listAuthSettings } from '../../src/settings.js';
import { createValidators } from '../../src/inbox/validation.js';
import { idTime } from '../../src/ids/id-layout.js';
import { faultSuite, db, lease, service, drain, SETTINGS } from './fault-suite.js';

/** POST /chat with an Idempotency-Key whose claim, per-user write or read-back meets a fault (and review B2). */
describe('correctness under injected faults: keyed creates (review defects D1-D4, D6)', () => {
  faultSuite();

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
      const app = createApp(log, [inboxRoutes(new MessageService(inboxStores(db), lease, inboxSettings(c), log),
        createValidators(inboxValidationSettings(c)), inboxRoutesSettings(c), listAuthorizer(listAuthSettings(c)), log)]);
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
});
