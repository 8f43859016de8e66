import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { ensureSchema, log, testConfig } from '../support/harness.js';
import { spawnService, type ServiceProcess } from '../support/processes.js';
import { Db } from '../../src/storage/cassandra.js';
import { ApplicationStore } from '../../src/chats/application-store.js';
import { ChatMessageStore } from '../../src/chats/message-store.js';
import { CounterStore } from '../../src/chats/counter-store.js';
import { CountsWorker } from '../../src/workers/counts/counts-worker.js';
import { call, newApp, newChat, pool } from './support.js';
import { cassandraSettings } from '../../src/settings.js';

/** The promise: counts lag under a minute (and never over an hour). */
const PROMISED_MS = 60_000;

async function countsOf(url: string, token: string): Promise<{ chats: number; messages: number[] }> {
  const app = await call(url, 'GET', `/applications/${token}`);
  const chats = await call(url, 'GET', `/applications/${token}/chats?limit=500`);
  return { chats: app.body.chats_count, messages: chats.body.map((c: { messages_count: number }) => c.messages_count) };
}

async function converge(url: string, token: string, expected: { chats: number; messages: number[] }): Promise<number> {
  const started = Date.now();
  for (;;) {
    const got = await countsOf(url, token);
    if (JSON.stringify(got) === JSON.stringify(expected)) return Date.now() - started;
    if (Date.now() - started > PROMISED_MS) assert.deepEqual(got, expected, 'counts did not converge in time');
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('chats_count and messages_count', () => {
  let service: ServiceProcess;
  let db: Db;
  before(async () => {
    await ensureSchema();
    service = await spawnService({}, ['serve', '--counts-every', '1']);
    db = new Db(cassandraSettings(testConfig()), log);
    await db.connect();
  });
  after(async () => { await service?.stop(); await db?.shutdown(); });

  it('when chats and messages are created, then the counts converge to the exact values within the promised time', async () => {
    const url = service.url;
    const token = await newApp(url);
    const chats = await pool(3, 3, () => newChat(url, token));
    const sizes = [5, 0, 12];
    await Promise.all(chats.sort().map((chat, i) =>
      pool(sizes[i]!, 6, (j) => call(url, 'POST', `/applications/${token}/chats/${chat}/messages`, { body: `m${j}` }))));
    const ms = await converge(url, token, { chats: 3, messages: sizes });
    await pool(7, 7, (j) => call(url, 'POST', `/applications/${token}/chats/1/messages`, { body: `more${j}` }));
    const ms2 = await converge(url, token, { chats: 3, messages: [12, 0, 12] });
    console.log(`converged after ${ms} ms, then ${ms2} ms`);
  });

  it('when messages are edited and deleted, then messages_count follows through the change log (a deleted row is not counted)', async () => {
    const url = service.url;
    const token = await newApp(url);
    const chat = await newChat(url, token);
    const messages = `/applications/${token}/chats/${chat}/messages`;
    await pool(4, 4, (j) => call(url, 'POST', messages, { body: `m${j}` }));
    await converge(url, token, { chats: 1, messages: [4] });
    assert.equal((await call(url, 'PUT', `${messages}/1`, { body: 'edited' })).status, 200);
    assert.equal((await call(url, 'DELETE', `${messages}/2`)).status, 204);
    assert.equal((await call(url, 'DELETE', `${messages}/3`)).status, 204);
    const ms = await converge(url, token, { chats: 1, messages: [2] });
    console.log(`after edit and deletes, converged in ${ms} ms`);
  });

  it('when a stored message never reached the change log, then the reconciliation still counts it', async () => {
    const url = service.url;
    const token = await newApp(url);
    const chat = await newChat(url, token);
    await pool(4, 4, (j) => call(url, 'POST', `/applications/${token}/chats/${chat}/messages`, { body: `m${j}` }));
    await converge(url, token, { chats: 1, messages: [4] });
    // What a process that died between its row write and its change entry leaves behind.
    const appId = (await new ApplicationStore(db).find(token))!.appId;
    assert.ok((await new CounterStore(db).advance(appId, chat, 5, 6, randomUUID())).applied);
    const now = new Date();
    await new ChatMessageStore(db).insert(appId, chat, { number: 5, body: 'orphan', version: 1, createdAt: now, updatedAt: now });
    const worker = new CountsWorker(db, { holder: 'test-reconciler', lockTtlSeconds: 30, logRetentionSeconds: 3600, maxClockSkewMs: 2000 }, log);
    assert.notEqual(await worker.reconcile(), null, 'the reconciliation ran');
    assert.deepEqual(await countsOf(url, token), { chats: 1, messages: [5] });
  });
});
