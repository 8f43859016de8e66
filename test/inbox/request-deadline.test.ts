import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { log, testConfig, uniqueUser } from '../support/harness.js';
import { faultyDb } from '../support/faulty-db.js';
import { CasOutcomeUnknown } from '../../src/storage/cassandra.js';
import { withStorageDeadline } from '../../src/storage/request-deadline.js';
import { createChats } from '../../src/chats/module.js';
import { chatsSettings, inboxRoutesSettings, inboxSettings, inboxValidationSettings, listAuthSettings } from '../../src/settings.js';
import { AppError } from '../../src/errors.js';
import { createApp } from '../../src/http/app.js';
import { inboxRoutes } from '../../src/http/inbox/routes.js';
import { listAuthorizer } from '../../src/http/auth.js';
import { createValidators } from '../../src/inbox/validation.js';
import { MessageService } from '../../src/inbox/message-service.js';
import { inboxStores } from '../../src/inbox/stores.js';
import { faultSuite, config, db, lease, service, SETTINGS } from './fault-suite.js';

/** Longer than the deadline these tests give a request: a statement that would end only after it. */
const SLOW_MS = 4_000;
const DEADLINE_MS = 1_200;

/**
 * A request's statements end within its storage deadline (src/storage/request-deadline.ts), however many settle
 * reads its faults call for: on the three-node ring an edit took 7.8 s with one node frozen and a create 6.5 s with
 * two nodes down, each SERIAL read of a lost conditional write waiting out its own timeout.
 */
describe('a request\'s storage deadline', () => {
  faultSuite();

  it('when a message insert lost its answer and every SERIAL read that could settle it is slow, then the create answers 503 at the deadline, and the number it claimed is never handed out again', async () => {
    let lost = false;
    const slow = faultyDb(db, {
      afterSend: (st) => {
        if (st === 'chat_message_insert' && !lost) { lost = true; throw new CasOutcomeUnknown(st); }
      },
      wireDelayMs: (st) => (st === 'chat_message_select_serial' ? SLOW_MS : 0),
    });
    const chats = createChats(slow.db, chatsSettings(config), log);
    const app = await chats.applications.create('deadline');
    const chat = (await chats.chats.create(app.token, null)).item.number;

    const started = Date.now();
    const err = await withStorageDeadline(DEADLINE_MS, () => chats.messages.create(app.token, chat, 'landed, answer lost'))
      .then(() => null, (e: unknown) => e);
    const took = Date.now() - started;
    assert.ok(err instanceof AppError && err.status === 503, `answered 503 (${String(err)})`);
    assert.ok(took < SLOW_MS, `cut at the deadline, not after the slow read (${took} ms)`);
    assert.equal(slow.count('chat_message_insert'), 1, 'the row was not sent again without knowing');

    const plain = createChats(db, chatsSettings(config), log);
    const next = await plain.messages.create(app.token, chat, 'next');
    assert.equal(next.item.number, 2, 'the next create gets the next number');
    assert.equal((await plain.messages.get(app.token, chat, 1)).body, 'landed, answer lost', 'the first row is there, once');
  });

  it('when a statement cannot start before the deadline, then it is not sent at all', async () => {
    const counted = faultyDb(db, {});
    const chats = createChats(counted.db, chatsSettings(config), log);
    const app = await chats.applications.create('deadline spent');
    const err = await withStorageDeadline(1, async () => {
      await chats.chats.list(app.token, 0, 10); // starts the clock
      await new Promise((r) => setTimeout(r, 20));
      return chats.chats.create(app.token, null);
    }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof AppError && err.status === 503, `answered 503 (${String(err)})`);
    assert.deepEqual((await createChats(db, chatsSettings(config), log).chats.list(app.token, 0, 10)).items, [],
      'no chat was created');
  });

  it('when a list streams pages slower than the deadline after its first, then the list still completes: claimed pages are never cut', async () => {
    const user = uniqueUser('deadline-list');
    const created: number[] = [];
    for (let i = 0; i < 120; i++) created.push(await service().create({ username: user, text: `p${i}`, timeout: 600 }));
    let pages = 0;
    const slowPages = faultyDb(db, {
      wireDelayMs: (st) => (st === 'select_pending' && ++pages > 1 ? DEADLINE_MS : 0),
    });
    const listConfig = testConfig({ ...SETTINGS, LIST_PAGE_SIZE: '40' });
    const pagesOf40 = new MessageService(inboxStores(slowPages.db), lease, inboxSettings(listConfig), log);
    const app = createApp(log, [inboxRoutes(pagesOf40, createValidators(inboxValidationSettings(listConfig)),
      inboxRoutesSettings(listConfig), listAuthorizer(listAuthSettings(listConfig)), log)], [], DEADLINE_MS);
    const server = http.createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/chats/${user}`);
      assert.equal(res.status, 200);
      const listed = (await res.json() as { id: number }[]).map((m) => m.id);
      assert.ok(pages > 2, `the list read several pages (${pages})`);
      assert.deepEqual(listed.sort(), [...created].sort(), 'every message delivered, in one complete answer');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
