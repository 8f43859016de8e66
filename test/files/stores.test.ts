import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { log, testConfig, connectTestDb } from '../support/harness.js';
import type { Db } from '../../src/storage/cassandra.js';
import { createChats, type Chats } from '../../src/chats/module.js';
import { chatsSettings } from '../../src/settings.js';
import { ChatMessageStore } from '../../src/chats/message-store.js';
import { MessageBodies } from '../../src/chats/message-bodies.js';
import { createBodyStore } from '../../src/bodies/create.js';
import type { Readable } from 'node:stream';
import { ObjectExists, type BodyStore, type ListedObject, type ObjectStream } from '../../src/bodies/body-store.js';
import { checkCreateOnly, CreateOnlyNotEnforced } from '../../src/bodies/create-only-check.js';
import { sha256Hex } from '../../src/bodies/keys.js';
import { AppError } from '../../src/errors.js';
import { ownPrefix } from './support.js';

/**
 * A store that replaces objects (a gateway or bucket that ignores If-None-Match), built on the real fs store: it
 * removes the object before each create-only write. The service must refuse to store bodies in it.
 */
class OverwritingStore implements BodyStore {
  readonly kind = 'fs' as const;
  constructor(private readonly inner: BodyStore) {}
  async putNew(key: string, bytes: Buffer, sha256: string): Promise<void> {
    await this.inner.delete(key);
    await this.inner.putNew(key, bytes, sha256);
  }
  get(key: string): Promise<Buffer | null> { return this.inner.get(key); }
  putStream(key: string, body: Readable, size: number, digest: () => Buffer): Promise<void> {
    return this.inner.putStream(key, body, size, digest);
  }
  getStream(key: string): Promise<ObjectStream | null> { return this.inner.getStream(key); }
  delete(key: string): Promise<void> { return this.inner.delete(key); }
  list(prefix: string): AsyncGenerator<ListedObject> { return this.inner.list(prefix); }
}

for (const backend of ['s3', 'fs'] as const) {
  describe(`body store (${backend})`, () => {
    const config = testConfig({ CHAT_BODY_STORE: backend, BODY_STORE_PREFIX: ownPrefix(`store-${backend}`) });
    const store = createBodyStore(chatsSettings(config).bodyStore)!;

    it('when a key is written twice create-only, then the second write is refused and the first bytes stay', async () => {
      const key = `m/00000000-0000-0000-0000-000000000000/1/1/v1-${'0'.repeat(64)}-${'1'.repeat(16)}`;
      const a = Buffer.from('first');
      await store.putNew(key, a, sha256Hex(a));
      const b = Buffer.from('second');
      await assert.rejects(store.putNew(key, b, sha256Hex(b)), ObjectExists);
      assert.deepEqual(await store.get(key), a);
      const listed: string[] = [];
      for await (const o of store.list('m/00000000-0000-0000-0000-000000000000/')) listed.push(o.key);
      assert.deepEqual(listed, [key]);
      await store.delete(key);
      assert.equal(await store.get(key), null);
      await store.delete(key); // already gone: no error
    });

    it('when the start-up check runs, then the store proves create-only', async () => {
      await checkCreateOnly(store);
    });
  });
}

describe('body integrity and refusal', () => {
  let db: Db;
  const dirConfig = testConfig({ CHAT_BODY_STORE: 'fs', BODY_STORE_PREFIX: ownPrefix('integrity') });
  before(async () => { db = await connectTestDb(dirConfig); });
  after(async () => { await db?.shutdown(); });

  it('when a store replaces objects, then the start-up check (startServer awaits it) refuses it', async () => {
    const overwriting = new OverwritingStore(createBodyStore(chatsSettings(dirConfig).bodyStore)!);
    await assert.rejects(checkCreateOnly(overwriting), CreateOnlyNotEnforced);
    const bodies = new MessageBodies(overwriting, chatsSettings(dirConfig).bodies, log);
    await assert.rejects(bodies.verify(), CreateOnlyNotEnforced);
  });

  it('when an object\'s bytes change on disk, then a read answers 500 (digest mismatch) instead of the altered body', async () => {
    const chats: Chats = createChats(db, chatsSettings(dirConfig), log);
    const app = await chats.applications.create('integrity');
    const chat = (await chats.chats.create(app.token, null)).item.number;
    const big = 'z'.repeat(10_000); // over CHAT_BODY_INLINE_BYTES: read from its object
    const number = (await chats.messages.create(app.token, chat, big)).item.number;
    const row = (await new ChatMessageStore(db).find(app.appId, chat, number))!;
    assert.equal(Buffer.byteLength(row.body), 4096, 'the row keeps the first CHAT_BODY_INLINE_BYTES (what search indexes)');
    assert.equal(row.ref!.size, 10_000);
    const file = path.join(dirConfig.BODY_STORE_DIR, dirConfig.BODY_STORE_PREFIX, row.ref!.key!);
    writeFileSync(file, 'y'.repeat(10_000));
    await assert.rejects(chats.messages.get(app.token, chat, number),
      (err: unknown) => err instanceof AppError && err.status === 500 && err.code === 'internal');
  });
});
