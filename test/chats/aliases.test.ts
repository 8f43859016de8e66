import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../support/harness.js';
import type { RunningServer } from '../../src/server.js';
import { call, newApp, walk } from './support.js';

const API = '/api/applications';

describe('chat applications: the Rails/Go chat system\'s field names on /api/applications', () => {
  let server: RunningServer;
  let base: string;
  before(async () => { server = await startTestServer(); base = server.url; });
  after(async () => { await server.close(); });

  it('when application_name is sent on create and rename, then it is the name, and the answer keeps this API\'s shape', async () => {
    const created = await call(base, 'POST', API, { application_name: 'rails shop' });
    assert.equal(created.status, 201);
    assert.equal(created.body.name, 'rails shop');
    assert.ok(!('application_name' in created.body));
    const token = created.body.token as string;
    for (const method of ['PUT', 'PATCH']) {
      const renamed = await call(base, method, `${API}/${token}`, { application_name: `renamed ${method}` });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, `renamed ${method}`);
    }
    // Form fields too (curl -d application_name=...), as the lenient reader reads them.
    const form = await call(base, 'POST', API, 'application_name=form%20shop',
      { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 201);
    assert.equal(form.body.name, 'form shop');
  });

  it('when chat_name is sent on create and rename, then it is the chat\'s name', async () => {
    const token = await newApp(base);
    const chat = await call(base, 'POST', `${API}/${token}/chats`, { chat_name: 'support' });
    assert.equal(chat.status, 201);
    assert.equal(chat.body.name, 'support');
    const renamed = await call(base, 'PATCH', `${API}/${token}/chats/${chat.body.number}`, { chat_name: 'sales' });
    assert.equal(renamed.body.name, 'sales');
    const cleared = await call(base, 'PUT', `${API}/${token}/chats/${chat.body.number}`, { chat_name: null });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.name, null);
  });

  it('when message_content is sent on create and edit, then it is the message body', async () => {
    const token = await newApp(base);
    await call(base, 'POST', `${API}/${token}/chats`, { chat_name: 'c' });
    const posted = await call(base, 'POST', `${API}/${token}/chats/1/messages`, { message_content: 'from rails' });
    assert.equal(posted.status, 201);
    assert.deepEqual(Object.keys(posted.body).sort(), ['body', 'created_at', 'number', 'updated_at', 'version']);
    assert.equal(posted.body.body, 'from rails');
    const edited = await call(base, 'PUT', `${API}/${token}/chats/1/messages/1`, { message_content: 'edited' });
    assert.equal(edited.status, 200);
    assert.equal(edited.body.body, 'edited');
    assert.equal((await call(base, 'GET', `/applications/${token}/chats/1/messages/1`)).body.body, 'edited');
  });

  it('when a body sends both names with different values, then it is 400 conflicting_fields and nothing is stored', async () => {
    const token = await newApp(base, 'before');
    await call(base, 'POST', `${API}/${token}/chats`, { name: 'c' });
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ['POST', API, { name: 'a', application_name: 'b' }],
      ['PUT', `${API}/${token}`, { name: 'a', application_name: 'b' }],
      ['POST', `${API}/${token}/chats`, { name: 'a', chat_name: null }],
      ['PATCH', `${API}/${token}/chats/1`, { name: 'a', chat_name: 'b' }],
      ['POST', `${API}/${token}/chats/1/messages`, { body: 'a', message_content: 'b' }],
      ['PUT', `${API}/${token}/chats/1/messages/1`, { body: 'a', message_content: 'b' }],
    ];
    await call(base, 'POST', `${API}/${token}/chats/1/messages`, { body: 'kept' });
    for (const [method, path, body] of cases) {
      const r = await call(base, method, path, body);
      assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
      assert.equal(r.body.error.code, 'conflicting_fields');
      assert.match(r.body.error.message, /different values/);
    }
    assert.equal((await call(base, 'GET', `/applications/${token}`)).body.name, 'before');
    assert.deepEqual((await walk(base, `/applications/${token}/chats`)).items.map((c) => [c.number, c.name]), [[1, 'c']]);
    assert.deepEqual((await walk(base, `/applications/${token}/chats/1/messages`)).items.map((m) => m.body), ['kept']);
  });

  it('when a body sends both names with the same value, then it is accepted', async () => {
    const app = await call(base, 'POST', API, { name: 'same', application_name: 'same' });
    assert.equal(app.status, 201);
    assert.equal(app.body.name, 'same');
    const chat = await call(base, 'POST', `${API}/${app.body.token}/chats`, { name: 'c', chat_name: 'c' });
    assert.equal(chat.body.name, 'c');
    const msg = await call(base, 'POST', `${API}/${app.body.token}/chats/1/messages`, { body: 'm', message_content: 'm' });
    assert.equal(msg.body.body, 'm');
  });

  it('when the aliases are sent to /applications, then they are not names there (the mount of this API\'s own clients)', async () => {
    const r = await call(base, 'POST', '/applications', { application_name: 'x' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_name');
    const token = await newApp(base);
    await newApp(base);
    await call(base, 'POST', `/applications/${token}/chats`, { chat_name: 'ignored' }).then((c) => assert.equal(c.body.name, null));
    const m = await call(base, 'POST', `/applications/${token}/chats/1/messages`, { message_content: 'x' });
    assert.equal(m.body.error.code, 'invalid_body');
  });

  it('when an alias carries a bad value, then the validator answers for the field it stands for', async () => {
    const r = await call(base, 'POST', API, { application_name: '' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_name');
    assert.equal(r.body.error.message, 'name must not be empty', 'the alias was read as the name');
    const token = await newApp(base);
    await call(base, 'POST', `${API}/${token}/chats`);
    const m = await call(base, 'POST', `${API}/${token}/chats/1/messages`, { message_content: 42 });
    assert.equal(m.body.error.code, 'invalid_body');
    assert.equal(m.body.error.message, 'body must be a string', 'the alias was read as the body');
  });
});
