import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { ensureSchema, log, testConfig, TEST_ENV } from '../support/harness.js';
import { pool } from '../chats/support.js';
import { Db } from '../../src/storage/cassandra.js';
import { ChatMessageStore } from '../../src/chats/message-store.js';
import type { Search } from '../../src/search/search.js';
import { dropIndex, freshIndex } from './support.js';
import { indexerPrefix, indexerWorker } from './indexer-support.js';
import { cassandraSettings } from '../../src/settings.js';

/**
 * Rows of one slice: 1,000 (the most a slice holds) × 64 KiB = 62.5 MiB of bodies, more than the child's whole heap.
 * The heap leaves room for what is not the indexer's: at 40 MiB with 600 rows a child died once within a second of
 * its start in a cold `make test`, and passed every time alone (peak 22 MiB).
 */
const COUNT = 1_000;
const HEAP_MIB = 56;

/** The indexer streams a slice's rows into 4 MiB bulks instead of holding every body of the slice at once. */
describe('indexer memory', () => {
  const prefix = indexerPrefix();
  let db: Db;
  let search: Search;
  before(async () => {
    await ensureSchema();
    db = new Db(cassandraSettings(testConfig()), log);
    await db.connect();
    search = indexerWorker(db, prefix).search;
    await freshIndex(search, prefix);
  });
  after(async () => { await dropIndex(search, prefix); await db?.shutdown(); });

  it(`when one slice holds ${COUNT} messages of 64 KiB, then an indexer with a ${HEAP_MIB} MiB heap indexes them all`, async () => {
    const app = randomUUID();
    const token = `tok-${randomUUID().slice(0, 8)}`;
    const store = new ChatMessageStore(db);
    const now = new Date();
    await pool(COUNT, 32, (i) => store.insert(app, 1, {
      number: i + 1, body: `${'large body '.repeat(5_957)}${i + 1}`, version: 1, createdAt: now, updatedAt: now }));
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, '--import', 'tsx', 'test/search/indexer-memory-child.ts'], {
      env: { ...process.env, ...TEST_ENV, APP: app, TOKEN: token, COUNT: String(COUNT), PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, `the indexer died:\n${out.slice(-600)}`);
    assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1)!), { written: COUNT, failed: 0 });
  });
});
