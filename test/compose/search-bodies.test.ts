/**
 * The compose stack end to end through its containers (scripts/dev/compose.sh test): a chat message created and
 * edited through the API container is found by search (the indexer container writing the OpenSearch container's
 * index), both versions' bodies are objects in the versitygw container's bucket, and the version history reads
 * them back; the sweeper container removes an orphan beside them once it is older than the grace period
 * (compose.sh test runs the stack with BODY_ORPHAN_GRACE_SECONDS=30 and a sweep every 5 s) and keeps them. The S3
 * server is asked directly (COMPOSE_S3_URL, the stack's development keys), never the shared one.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { S3BodyStore } from '../../src/bodies/s3-store.js';
import { fixed } from '../../src/bodies/credentials/refreshing.js';
import { MESSAGES } from '../../src/bodies/keys.js';
import { eventually } from '../support/eventually.js';

const API = process.env.COMPOSE_API_URL ?? 'http://127.0.0.1:18180';
const S3 = process.env.COMPOSE_S3_URL ?? 'http://127.0.0.1:19700';
const OPENSEARCH = process.env.COMPOSE_OPENSEARCH_URL ?? 'http://127.0.0.1:19200';

const store = new S3BodyStore({
  endpoint: S3, region: 'us-east-1', bucket: process.env.COMPOSE_S3_BUCKET ?? 'ephemera', pathStyle: true,
  credentials: fixed('compose test', { accessKeyId: process.env.S3_ACCESS_KEY_ID ?? 'ephemera-dev',
    secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? 'ephemera-dev-secret' }),
  timeoutMs: 10_000, maxInFlight: 4, prefix: '',
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function json(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${API}${path}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are asserted field by field
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
}

/** Every object key of the bucket under m/ whose name carries this version and digest. */
async function objectsOf(version: number, digest: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(MESSAGES)) if (o.key.includes(`/v${version}-${digest}-`)) keys.push(o.key);
  return keys;
}

const GRACE_MS = Number(process.env.BODY_ORPHAN_GRACE_SECONDS ?? 30) * 1000;

describe('compose stack: search and message bodies through the containers', () => {
  it('when a message is created and edited through the API, then search finds it, its bodies are objects in the bucket, its history reads them back and the sweeper removes an orphan beside them', async () => {
    // The stack's own OpenSearch answers (not the shared one on 9200).
    const health = await (await fetch(`${OPENSEARCH}/_cluster/health`)).json() as { status: string };
    assert.ok(['green', 'yellow'].includes(health.status), `OpenSearch ${OPENSEARCH}: ${health.status}`);

    const app = await json('POST', '/applications', { name: 'compose-stack' });
    assert.equal(app.status, 201);
    const token = app.body.token as string;
    const chat = await json('POST', `/applications/${token}/chats`, { name: 'compose' });
    assert.equal(chat.status, 201);
    const base = `/applications/${token}/chats/${chat.body.number}/messages`;
    const word = `zq${randomBytes(6).toString('hex')}`;
    // Larger than CHAT_BODY_INLINE_BYTES (4096): the full body exists only as the object.
    const first = `first ${word} ${'a'.repeat(6000)}`;
    const second = `second ${word} ${'b'.repeat(7000)}`;

    const created = await json('POST', base, { body: first });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const n = created.body.number as number;
    const edited = await json('PUT', `${base}/${n}`, { body: second }, { 'if-match': '"1"' });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    assert.equal(edited.body.version, 2);

    // Both versions are objects in the versitygw container's bucket, byte for byte.
    const kept: string[] = [];
    for (const [version, body] of [[1, first], [2, second]] as const) {
      const keys = await objectsOf(version, sha256(body));
      assert.equal(keys.length, 1, `one object for version ${version}: ${keys.join(', ')}`);
      assert.equal((await store.get(keys[0]!))?.toString('utf8'), body, `object of version ${version}`);
      kept.push(keys[0]!);
    }

    // The history lists both versions with their digests, and each version's body reads back from its object.
    const history = await json('GET', `${base}/${n}/versions`);
    assert.equal(history.status, 200);
    assert.deepEqual(history.body.map((v: { version: number; digest: string; size: number }) => [v.version, v.digest, v.size]),
      [[2, sha256(second), Buffer.byteLength(second)], [1, sha256(first), Buffer.byteLength(first)]]);
    const v1 = await json('GET', `${base}/${n}/versions/1`);
    assert.equal(v1.status, 200);
    assert.equal(v1.body.body, first);
    const current = await json('GET', `${base}/${n}`);
    assert.equal(current.body.body, second);

    // Search: the indexer container applies the change log to the OpenSearch container's index.
    const hits = await eventually(async () => {
      const r = await json('GET', `${base}/search?q=${word}`);
      return r.status === 200 ? r.body as Array<{ number: number; version: number }> : [];
    }, (h) => h.some((m) => m.number === n && m.version === 2), 120_000);
    assert.equal(hits.length, 1);

    // An editor that lost its race leaves an object no row points to: the sweeper container removes it once it
    // is older than the grace period, and keeps the two the row points to.
    const lost = `lost ${word}`;
    const orphan = kept[1]!.replace(/\/v2-[0-9a-f]{64}-[0-9a-f]{16}$/, `/v3-${sha256(lost)}-${randomBytes(8).toString('hex')}`);
    assert.notEqual(orphan, kept[1]);
    const put = Date.now();
    await store.putNew(orphan, Buffer.from(lost), sha256(lost));
    await eventually(() => store.get(orphan), (b) => b === null, GRACE_MS + 120_000);
    assert.ok(Date.now() - put >= GRACE_MS - 2000, `removed after ${Date.now() - put} ms, before the ${GRACE_MS} ms grace period`);
    for (const key of kept) assert.notEqual(await store.get(key), null, `${key} is kept`);
  });
});
