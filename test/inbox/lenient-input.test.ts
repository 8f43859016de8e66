import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { contractFetch, getJson, postRaw, startTestServer, uniqueUser, type Listed, type MessageView } from '../support/harness.js';
import type { RunningServer } from '../../src/server.js';

const run = promisify(execFile);
const expirySeconds = (view: MessageView, createdAt: number) =>
  (Date.parse(`${view.expiration_date.replace(' ', 'T')}Z`) - createdAt) / 1000;

describe('lenient input on POST /chat', () => {
  let server: RunningServer;
  let chat: string;
  before(async () => { server = await startTestServer(); chat = `${server.url}/chat`; });
  after(async () => { await server.close(); });

  /** Posts, expects 201, and returns what GET /chat/:id then says. */
  async function accepted(body: string | Buffer, headers: Record<string, string>): Promise<MessageView> {
    const res = await postRaw(chat, body, headers);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const got = await getJson<MessageView>(`${server.url}/chat/${res.body.id}`);
    assert.equal(got.status, 200);
    return got.body;
  }

  /** Posts, expects the status and error code, and checks nothing was stored for the user. */
  async function refused(user: string, body: string | Buffer, headers: Record<string, string>, status: number, code: string) {
    const res = await postRaw(chat, body, headers);
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal((res.body.error as { code: string }).code, code);
    assert.deepEqual((await getJson<Listed>(`${server.url}/chats/${encodeURIComponent(user)}`)).body, []);
  }

  it('when the exact curl call of the README is made (curl -XPOST url/chat -d json), then 201', async () => {
    const user = uniqueUser('curl');
    const { stdout } = await run('curl', ['-s', '-w', '\n%{http_code}', '-XPOST', chat, '-d', `{"username":"${user}","text":"hi"}`]);
    const [body, status] = stdout.trim().split('\n');
    assert.equal(status, '201');
    const id = (JSON.parse(body!) as { id: number }).id;
    assert.deepEqual((await getJson<MessageView>(`${server.url}/chat/${id}`)).body.username, user);
  });

  it('when JSON comes with no Content-Type at all (Python requests with data=json.dumps(...)), then 201', async () => {
    const user = uniqueUser('py');
    const got = await accepted(JSON.stringify({ username: user, text: 'hi' }),
      { 'user-agent': 'python-requests/2.34.2', accept: '*/*', 'accept-encoding': 'gzip, deflate' });
    assert.equal(got.username, user);
  });

  const jsonTypes = [
    'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'application/json',
    'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/vnd.api+json',
    'application/octet-stream',
  ];
  for (const type of jsonTypes) {
    it(`when a JSON object is sent as ${type}, then 201 and the message is stored as sent`, async () => {
      const user = uniqueUser('type');
      const got = await accepted(JSON.stringify({ username: user, text: 'héllo 🐙', timeout: 120 }), { 'content-type': type });
      assert.deepEqual([got.username, got.text], [user, 'héllo 🐙']);
    });
  }

  it('when JSON declares another charset (ISO-8859-1), then it is decoded with that charset', async () => {
    const user = uniqueUser('latin');
    const got = await accepted(Buffer.from(JSON.stringify({ username: user, text: 'café' }), 'latin1'),
      { 'content-type': 'application/json; charset=ISO-8859-1' });
    assert.equal(got.text, 'café');
  });

  it('when a JSON body is gzip-encoded, then it is decoded and stored', async () => {
    const user = uniqueUser('gzip');
    const got = await accepted(gzipSync(JSON.stringify({ username: user, text: 'zipped' })),
      { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(got.text, 'zipped');
  });

  it('when form fields are posted, then they are the message and timeout is read as seconds', async () => {
    const user = uniqueUser('form');
    const createdAt = Date.now();
    const got = await accepted(new URLSearchParams({ username: user, text: 'a form & more', timeout: '120' }).toString(),
      { 'content-type': 'application/x-www-form-urlencoded' });
    assert.deepEqual([got.username, got.text], [user, 'a form & more']);
    assert.ok(Math.abs(expirySeconds(got, createdAt) - 120) < 3);
  });

  it('when the timeout form field is empty or the JSON timeout is null, then the default 60 s applies', async () => {
    const createdAt = Date.now();
    const form = await accepted(`username=${uniqueUser('empty')}&text=x&timeout=`, { 'content-type': 'application/x-www-form-urlencoded' });
    const json = await accepted(JSON.stringify({ username: uniqueUser('null'), text: 'x', timeout: null }), { 'content-type': 'application/json' });
    for (const got of [form, json]) assert.ok(Math.abs(expirySeconds(got, createdAt) - 60) < 3);
  });

  const refusedTypes: Array<[string, string]> = [
    ['application/xml', '<message><username>u</username></message>'],
    ['text/xml', '<message/>'],
    ['application/atom+xml', '<feed/>'],
    ['multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="username"\r\n\r\nu\r\n--xyz--\r\n'],
  ];
  for (const [type, body] of refusedTypes) {
    it(`when the body is ${type.split(';')[0]}, then 415 and nothing is stored`, async () => {
      const user = uniqueUser('refused');
      await refused(user, body.replace('>u<', `>${user}<`), { 'content-type': type }, 415, 'unsupported_media_type');
    });
  }

  it('when a multipart form with a file is sent by fetch, then 415', async () => {
    const form = new FormData();
    form.set('username', 'u');
    form.set('file', new Blob(['{"text":"x"}'], { type: 'application/json' }), 'message.json');
    const res = await contractFetch(chat, { method: 'POST', body: form });
    assert.equal(res.status, 415);
  });

  it('when a JSON body is sent as XML, then 415: the declared XML is not read', async () => {
    const user = uniqueUser('xmljson');
    await refused(user, JSON.stringify({ username: user, text: 'x' }), { 'content-type': 'application/xml' }, 415, 'unsupported_media_type');
  });

  it('when a body of another type is not JSON, then 415', async () => {
    await refused(uniqueUser('bin'), Buffer.from([0x89, 0x50, 0x4e, 0x47]), { 'content-type': 'image/png' }, 415, 'unsupported_media_type');
  });

  it('when the body is not JSON and the type is JSON-like or absent, then 400 invalid_json', async () => {
    for (const headers of [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/json' }] as Array<Record<string, string>>) {
      await refused(uniqueUser('nojson'), 'username=u&text=x', headers, 400, 'invalid_json');
    }
  });

  it('when form fields are bad (a word for timeout, a field twice), then 400 and nothing is stored', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    let user = uniqueUser('badform');
    await refused(user, `username=${user}&text=x&timeout=soon`, form, 400, 'invalid_timeout');
    user = uniqueUser('badform');
    await refused(user, `username=${user}&text=x&text=y`, form, 400, 'invalid_body');
    user = uniqueUser('badform');
    await refused(user, `username=${user}&text=x&timeout=1.5`, form, 400, 'invalid_timeout');
  });

  it('when the charset or content encoding is unknown, then 415', async () => {
    const user = uniqueUser('charset');
    const body = JSON.stringify({ username: user, text: 'x' });
    await refused(user, body, { 'content-type': 'application/json; charset=klingon' }, 415, 'unsupported_media_type');
    await refused(user, body, { 'content-type': 'application/json', 'content-encoding': 'zstd-ish' }, 415, 'unsupported_media_type');
  });

  it('when a body without Content-Type or Content-Length streams past the limit, then 413 and nothing is stored', async () => {
    const user = uniqueUser('big');
    const body = JSON.stringify({ username: user, text: 'x'.repeat(300 * 1024) });
    await refused(user, body, { 'transfer-encoding': 'chunked' }, 413, 'payload_too_large');
  });

  it('when a small gzip body inflates past the limit, then 413 and nothing is stored', async () => {
    const user = uniqueUser('bomb');
    const body = gzipSync(JSON.stringify({ username: user, text: 'x'.repeat(1024 * 1024) }));
    assert.ok(body.length < 10_000);
    await refused(user, body, { 'content-encoding': 'gzip' }, 413, 'payload_too_large');
  });
});
