// Child of indexer-memory.test.ts: applies one slice of message entries (env APP, TOKEN, COUNT, PREFIX) with the
// indexer worker, under the heap limit the parent gives it, and prints the result as JSON.
import { log, testConfig } from '../support/harness.js';
import { Db } from '../../src/storage/cassandra.js';
import { indexerWorker } from './indexer-support.js';
import { cassandraSettings } from '../../src/settings.js';

const { APP, TOKEN, COUNT, PREFIX } = process.env as Record<string, string>;
const db = new Db(cassandraSettings(testConfig()), log);
await db.connect();
try {
  const { worker } = indexerWorker(db, PREFIX!);
  const entries = Array.from({ length: Number(COUNT) }, (_, i) => ({ entity: 'message' as const, op: 'upsert' as const,
    app: APP!, token: TOKEN!, chat: 1, message: i + 1, version: 1, at: Date.now() }));
  const result = await worker.applyEntries(entries);
  process.stdout.write(`${JSON.stringify({ written: result.written, failed: result.failed.length })}\n`);
} finally {
  await db.shutdown();
}
