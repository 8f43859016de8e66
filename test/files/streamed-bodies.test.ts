import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startTestServer } from '../support/harness.js';
import type { RunningServer } from '../../src/server.js';
import { call, newApp, newChat } from '../chats/support.js';
import { ownPrefix, PrivateS3 } from './support.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
/**
 * Live JS heap plus live Buffers after full collections. V8 frees the memory of dead Buffers on a background
 * thread after a collection, so one reading can still count garbage (measured: 15-25 MiB spikes at 64 KiB chunks);
 * the least of three readings, each after its own collection and a short pause, counts only what is really
 * held: memory a stream kept would be in all three.
 */
const held = async (): Promise<number> => {
  let least = Infinity;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
    const m = process.memoryUsage();
    least = Math.min(least, m.heapUsed + m.arrayBuffers);
  }
  return least;
};
const MiB = 1024 * 1024;

interface Raw { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

/** One raw request: `chunks` are sent as they are produced (a generator: never all in memory). */
function raw(url: string, method: string, headers: Record<string, string>,
  chunks?: AsyncIterable<Buffer> | Buffer): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (chunks === undefined) req.end();
    else if (Buffer.isBuffer(chunks)) req.end(chunks);
    else {
      void (async () => {
        for await (const c of chunks) if (!req.write(c)) await new Promise((r) => req.once('drain', r));
        req.end();
      })().catch((err: Error) => req.destroy(err));
    }
  });
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

for (const backend of ['s3', 'fs', 'cassandra'] as const) {
  describe(`streamed message bodies (${backend})`, () => {
    let server: RunningServer;
    const big = backend !== 'cassandra';
    const limit = big ? 64 * MiB : 64 * 1024;
    const prefix = ownPrefix(`streamed-${backend}`);
    before(async () => {
      server = await startTestServer({ CHAT_BODY_STORE: backend, BODY_STORE_PREFIX: prefix,
        CHAT_MAX_STREAMED_BODY_BYTES: String(limit), CHAT_BODY_INLINE_BYTES: '1024' });
    });
    after(async () => { await server?.close(); });

    async function message(body = 'version 1') {
      const token = await newApp(server.url);
      const chat = await newChat(server.url, token);
      const r = await call(server.url, 'POST', `/applications/${token}/chats/${chat}/messages`, { body });
      assert.equal(r.status, 201);
      return `/applications/${token}/chats/${chat}/messages/${r.body.number}`;
    }
    const text = { 'content-type': 'text/plain; charset=utf-8' };

    it('when a raw body is PUT, then it is the next version: GET .../body streams it back with its digest, the JSON views agree', async () => {
      const m = await message();
      const body = Buffer.from('grüße, '.repeat(big ? 20_000 : 2_000)); // multi-byte characters across chunk edges
      const put = await raw(`${server.url}${m}/body`, 'PUT', { ...text, 'content-length': String(body.length) }, body);
      assert.equal(put.status, 200, put.body.toString());
      const answer = JSON.parse(put.body.toString());
      assert.equal(answer.version, 2);
      assert.equal(answer.size, body.length);
      assert.equal(answer.digest, sha256(body));
      assert.equal(put.headers.etag, '"2"');

      const got = await raw(`${server.url}${m}/body`, 'GET', {});
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(body));
      assert.equal(got.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(got.headers['content-length'], String(body.length));
      assert.equal(got.headers['repr-digest'], `sha-256=:${Buffer.from(sha256(body), 'hex').toString('base64')}:`);
      assert.equal((await call(server.url, 'GET', m)).body.body, body.toString('utf8'));
      const v1 = await raw(`${server.url}${m}/versions/1/body`, 'GET', {});
      if (big) assert.equal(v1.body.toString(), 'version 1');
      else assert.equal(v1.status, 404); // cassandra keeps only the current body
      const head = await raw(`${server.url}${m}/body`, 'HEAD', {});
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(body.length));
    });

    it('when a raw body is larger than the limit, then 413 before it is read and nothing changes', async () => {
      const m = await message();
      const r = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${server.url}${m}/body`, { method: 'PUT',
          headers: { ...text, 'content-length': String(limit + 1) } }, (res) => { res.resume(); resolve(res.statusCode!); });
        req.on('error', reject);
        req.write('x'); // the rest never comes: the answer must not wait for it
      });
      assert.equal(r, 413);
      const now = await call(server.url, 'GET', m);
      assert.equal(now.body.version, 1);
    });

    it('when a raw body lacks a length, is not text, is cut short or has the wrong type, then 411/400/415 and nothing changes', async () => {
      const m = await message();
      const chunked = await raw(`${server.url}${m}/body`, 'PUT', { ...text, 'transfer-encoding': 'chunked' },
        (async function* () { yield Buffer.from('abc'); })());
      assert.equal(chunked.status, 411);
      const notText = await raw(`${server.url}${m}/body`, 'PUT', { 'content-type': 'application/octet-stream',
        'content-length': '3' }, Buffer.from([0x61, 0xff, 0x62]));
      assert.equal(notText.status, 400);
      assert.equal(JSON.parse(notText.body.toString()).error.code, 'invalid_body');
      const json = await raw(`${server.url}${m}/body`, 'PUT', { 'content-type': 'application/json', 'content-length': '2' },
        Buffer.from('{}'));
      assert.equal(json.status, 415);
      // The client announces 100 bytes, sends 10 and hangs up: the upload fails, no version is written.
      await new Promise<void>((resolve) => {
        const req = http.request(`${server.url}${m}/body`, { method: 'PUT', headers: { ...text, 'content-length': '100' } });
        req.on('error', () => resolve());
        req.write('0123456789', () => setTimeout(() => { req.destroy(); resolve(); }, 200));
      });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await call(server.url, 'GET', m)).body.version, 1);
    });

    if (big) {
      it('when 64 MiB stream up and back down, then the process never holds more than a small part of it', async () => {
        const m = await message();
        const size = 64 * MiB;
        const chunk = 64 * 1024;
        const baseline = await held();
        let peak = 0;
        const samples: number[] = [];
        const hash = createHash('sha256');
        async function* produce() {
          for (let sent = 0; sent < size; sent += chunk) {
            // A new Buffer each time: a server that kept the chunks would hold 64 MiB of distinct memory.
            const part = Buffer.alloc(chunk, 'abcdefghijklmnop'[(sent / chunk) % 16]!);
            hash.update(part);
            if (sent % (8 * MiB) === 0 && sent > 0) {
              const h = (await held()) - baseline;
              samples.push(h);
              peak = Math.max(peak, h);
            }
            yield part;
          }
        }
        const put = await raw(`${server.url}${m}/body`, 'PUT', { ...text, 'content-length': String(size) }, produce());
        assert.equal(put.status, 200, put.body.toString());
        const digest = hash.digest('hex');
        assert.equal(JSON.parse(put.body.toString()).digest, digest);
        const upPeak = peak;

        peak = 0;
        const down = createHash('sha256');
        let received = 0;
        await new Promise<void>((resolve, reject) => {
          http.get(`${server.url}${m}/body`, (res) => {
            assert.equal(res.statusCode, 200);
            let nextCheck = 8 * MiB;
            res.on('data', (d: Buffer) => {
              received += d.length;
              down.update(d);
              if (received >= nextCheck) {
                nextCheck += 8 * MiB;
                res.pause();
                void held().then((h) => { peak = Math.max(peak, h - baseline); res.resume(); });
              }
            });
            res.on('end', resolve);
            res.on('error', reject);
          }).on('error', reject);
        });
        assert.equal(received, size);
        assert.equal(down.digest('hex'), digest);
        // 64 MiB went each way; a buffered body would show ≥ 64 MiB here. Streams hold a few 64 KiB chunks.
        console.log(`upload samples (MiB): ${samples.map((x) => (x / MiB).toFixed(1)).join(' ')}`);
        console.log(`held above baseline: upload peak ${(upPeak / MiB).toFixed(1)} MiB, download peak ${(peak / MiB).toFixed(1)} MiB`);
        assert.ok(upPeak < 16 * MiB, `upload held ${upPeak} bytes`);
        assert.ok(peak < 16 * MiB, `download held ${peak} bytes`);
      });
    }

    if (backend === 'fs') {
      it('when an object changed on disk keeps its size, then the download is aborted (never a clean wrong body) and counted', async () => {
        const m = await message();
        const body = Buffer.from('x'.repeat(300_000));
        assert.equal((await raw(`${server.url}${m}/body`, 'PUT', { ...text, 'content-length': String(body.length) }, body)).status, 200);
        const files: string[] = [];
        const walk = async (dir: string): Promise<void> => {
          for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
            if (e.isDirectory()) await walk(path.join(dir, e.name));
            else if ((await fsp.stat(path.join(dir, e.name))).size === body.length) files.push(path.join(dir, e.name));
          }
        };
        await walk(path.join(server.config.BODY_STORE_DIR, prefix));
        assert.equal(files.length, 1);
        await fsp.chmod(files[0]!, 0o644).catch(() => undefined);
        const altered = Buffer.from(body);
        altered[body.length - 1] = 0x79;
        await fsp.writeFile(files[0]!, altered);
        const before = await metric(server.url);
        const outcome = await new Promise<string>((resolve) => {
          http.get(`${server.url}${m}/body`, (res) => {
            let n = 0;
            res.on('data', (d: Buffer) => { n += d.length; });
            res.on('end', () => resolve(`complete ${n}`));
            res.on('error', () => resolve(`aborted after ${n}`));
            res.on('aborted', () => resolve(`aborted after ${n}`));
          }).on('error', () => resolve('aborted'));
        });
        assert.match(outcome, /^aborted/);
        assert.equal(await metric(server.url), before + 1);
      });
    }
  });
}

describe('streamed message bodies when the store is down or hangs', () => {
  let s3: PrivateS3;
  let server: RunningServer;
  before(async () => {
    s3 = await PrivateS3.start();
    server = await startTestServer({ ...s3.env, BODY_STORE_PREFIX: ownPrefix('streamed-faults'), S3_REQUEST_TIMEOUT_MS: '1000',
      CHAT_BODY_INLINE_BYTES: '1024' });
  });
  after(async () => {
    await server?.close();
    await s3?.stop();
  });
  const text = { 'content-type': 'text/plain; charset=utf-8' };
  const body = Buffer.from('y'.repeat(200_000));

  it('when the store is down or hangs, then a raw upload answers 503 fast and nothing changes; a download 503s; after it returns, all is whole', async () => {
    const token = await newApp(server.url);
    const chat = await newChat(server.url, token);
    const m = `/applications/${token}/chats/${chat}/messages/${(await call(server.url, 'POST',
      `/applications/${token}/chats/${chat}/messages`, { body: 'v1' })).body.number}`;
    const put = () => raw(`${server.url}${m}/body`, 'PUT', { ...text, 'content-length': String(body.length) }, body);
    assert.equal((await put()).status, 200);

    await s3.kill();
    const down = await put();
    assert.equal(down.status, 503);
    assert.equal(down.headers['retry-after'], '1');
    assert.equal((await raw(`${server.url}${m}/body`, 'GET', {})).status, 503);

    await s3.run();
    s3.pause();
    try {
      const started = Date.now();
      const hung = await put();
      assert.equal(hung.status, 503);
      // S3_REQUEST_TIMEOUT_MS (1 s) for the store's 100 Continue; generous for a loaded machine.
      assert.ok(Date.now() - started < 8000, `took ${Date.now() - started} ms`);
    } finally {
      s3.resume();
    }
    assert.equal((await call(server.url, 'GET', m)).body.version, 2);
    const got = await raw(`${server.url}${m}/body`, 'GET', {});
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(body));
  });
});

/** ephemera_chat_body_digest_mismatches_total from /metrics. */
async function metric(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^ephemera_chat_body_digest_mismatches_total (\d+)/m.exec(text)?.[1] ?? NaN);
}
