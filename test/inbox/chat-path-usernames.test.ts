import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, postChat, startTestServer, testConfig, uniqueUser, type Listed, type MessageView } from '../support/harness.js';
import type { RunningServer } from '../../src/server.js';

describe('GET /chat/:username variant, CHAT_PATH_USERNAMES=true', () => {
  let server: RunningServer;
  before(async () => { server = await startTestServer({ CHAT_PATH_USERNAMES: 'true' }); });
  after(async () => { await server.close(); });

  it('when the segment is a username, then its messages are listed oldest first and consumed, like /chats/:username', async () => {
    const user = uniqueUser('path');
    const ids = [];
    for (const text of ['one', 'two']) ids.push((await postChat(server.url, { username: user, text, timeout: 600 })).body.id);
    const first = await getJson<Listed>(`${server.url}/chat/${user}`);
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, [{ id: ids[0], text: 'one' }, { id: ids[1], text: 'two' }]);
    assert.deepEqual((await getJson<Listed>(`${server.url}/chat/${user}`)).body, [], 'consumed by the first read');
    assert.deepEqual((await getJson<Listed>(`${server.url}/chats/${user}`)).body, [], 'and for /chats/:username too');
  });

  it('when the segment is a valid id, then it still means that id', async () => {
    const user = uniqueUser('path-id');
    const { id } = (await postChat(server.url, { username: user, text: 'by id', timeout: 600 })).body;
    const got = await getJson<MessageView>(`${server.url}/chat/${id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.username, user);
    assert.equal((await getJson<{ error: { code: string } }>(`${server.url}/chat/12345`)).status, 404, 'an unknown id is 404, not an empty list');
  });

  it('when an all-digit username is not a valid id (too large), then it is listed as a username', async () => {
    const user = `9${String(Date.now()).padStart(19, '0')}`; // 20 digits: above the largest id
    await postChat(server.url, { username: user, text: 'digits', timeout: 600 });
    assert.deepEqual((await getJson<Listed>(`${server.url}/chat/${user}`)).body.map((m) => m.text), ['digits']);
  });

  it('when a username is URL-encoded UTF-8, then it is decoded like in /chats/:username', async () => {
    const user = `émoji 🐙 ${uniqueUser()}`;
    await postChat(server.url, { username: user, text: 'encoded', timeout: 600 });
    assert.deepEqual((await getJson<Listed>(`${server.url}/chat/${encodeURIComponent(user)}`)).body.map((m) => m.text), ['encoded']);
  });
});

describe('GET /chat/:username variant, off by default', () => {
  let server: RunningServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  it('when the variant is off and the segment is not an id, then 400 invalid_id and nothing is consumed', async () => {
    const user = uniqueUser('off');
    await postChat(server.url, { username: user, text: 'kept', timeout: 600 });
    const res = await getJson<{ error: { code: string } }>(`${server.url}/chat/${user}`);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_id');
    assert.deepEqual((await getJson<Listed>(`${server.url}/chats/${user}`)).body.map((m) => m.text), ['kept']);
  });

  it('when CHAT_PATH_USERNAMES is not true or false, then the configuration names it', () => {
    assert.equal(testConfig().CHAT_PATH_USERNAMES, false);
    assert.throws(() => testConfig({ CHAT_PATH_USERNAMES: 'yes' }), /CHAT_PATH_USERNAMES/);
  });
});
