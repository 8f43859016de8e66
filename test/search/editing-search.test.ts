import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { log, startTestServer } from '../support/harness.js';
import { call, newApp, newChat } from '../chats/support.js';
import type { RunningServer } from '../../src/server.js';
import { startIndexerLoop } from '../../src/workers/indexer/run.js';
import { dropIndex, freshIndex } from './support.js';
import { eventually, indexerEnv, indexerPrefix, indexerWorker, searchAll } from './indexer-support.js';

/** Edits and deletes through the HTTP API reach search through the change log, like creates. */
describe('search follows edits and deletes', () => {
  const prefix = indexerPrefix();
  let server: RunningServer;
  let loop: { stop(): Promise<void> };

  before(async () => {
    server = await startTestServer(indexerEnv(prefix));
    const { worker, search, consumer } = indexerWorker(server.db, prefix);
    await freshIndex(search, prefix);
    loop = startIndexerLoop(worker, consumer, log, 1);
  });
  after(async () => {
    await loop?.stop();
    const { search } = indexerWorker(server.db, prefix);
    await dropIndex(search, prefix);
    await server?.close();
  });

  it('when a message is edited and another deleted, then search finds the new body and no longer the deleted one', async () => {
    const url = server.url;
    const token = await newApp(url);
    const chat = await newChat(url, token);
    const messages = `/applications/${token}/chats/${chat}/messages`;
    for (const body of ['draft one', 'draft two']) assert.equal((await call(url, 'POST', messages, { body })).status, 201);
    await eventually(() => searchAll(url, token, chat, 'draft'), (hits) => hits.length === 2);

    assert.equal((await call(url, 'PUT', `${messages}/1`, { body: 'final one' }, { 'if-match': '"1"' })).status, 200);
    assert.equal((await call(url, 'DELETE', `${messages}/2`)).status, 204);
    await eventually(() => searchAll(url, token, chat, 'draft'), (hits) => hits.length === 0);
    const edited = await searchAll(url, token, chat, 'final');
    assert.deepEqual(edited.map((h) => [h.number, h.body, h.version]), [[1, 'final one', 2]]);
  });
});
