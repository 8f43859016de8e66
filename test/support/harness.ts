import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Db } from '../../src/storage/cassandra.js';
import { migrate } from '../../src/storage/migrator.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { checkResponse } from './contract.js';

export { contractFetch } from './contract.js';
import { EXTERNAL_BASE_URL, externalServer } from './external.js';
import { processIdentity } from '../../src/process-identity.js';
import { cassandraSettings } from '../../src/settings.js';

/** Response shapes of the contract. */
export type Listed = Array<{ id: number; text: string }>;
export type MessageView = { username: string; text: string; expiration_date: string };

/** Tests use their own keyspaces on the real local Cassandra, so they never touch `make run` data. */
export const TEST_ENV: Record<string, string> = {
  CASSANDRA_HOT_KEYSPACE: process.env.TEST_HOT_KEYSPACE ?? 'ephemera_test_hot',
  CASSANDRA_COLD_KEYSPACE: process.env.TEST_COLD_KEYSPACE ?? 'ephemera_test_cold',
  // Never make run's index (`ephemera`): services and `migrate` children of the tests use their own prefix.
  OPENSEARCH_INDEX_PREFIX: process.env.TEST_SEARCH_PREFIX ?? 'ephemera_test',
  // Message bodies under the same prefix in the shared bucket (or directory): never make run's objects.
  BODY_STORE_PREFIX: `${process.env.TEST_SEARCH_PREFIX ?? 'ephemera_test'}/`,
  // Bursts of 500 creates (numbering.test.ts) queue up at versitygw: ~60 PUTs/s at load 30 on this 2-core machine
  // (p50 3.6 s with 250 in flight), so the product's 2 s bound would answer some of them 503 (as it should). Suites
  // that test a slow store set their own bound (test/files/store-faults.test.ts).
  S3_REQUEST_TIMEOUT_MS: '10000',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
  // The search fast path hides whether the change log delivers: suites test the durable path unless they turn it
  // on (test/search/fast-path.test.ts does).
  SEARCH_FAST_INDEX: 'off',
  PORT: '0',
  HOST: '127.0.0.1',
};

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, ...TEST_ENV, ...overrides });
}

export const log = createLogger(TEST_ENV.LOG_LEVEL!, 'test');

let migrated: Promise<void> | null = null;
/** Applies migrations once per test process. */
export function ensureSchema(config = testConfig()): Promise<void> {
  migrated ??= (async () => {
    const db = new Db(cassandraSettings(config), log);
    await db.connect();
    try { await migrate(db, log, processIdentity(config.POD_NAME, 'migrator')); } finally { await db.shutdown(); }
  })();
  return migrated;
}

/** A Db on the test keyspaces with the schema applied: a suite's `before` connects it, its `after` shuts it down. */
export async function connectTestDb(config = testConfig()): Promise<Db> {
  await ensureSchema(config);
  const db = new Db(cassandraSettings(config), log);
  await db.connect();
  return db;
}

/** An in-process server on its own port, or (TEST_BASE_URL set) the service already running there. */
export async function startTestServer(overrides: Record<string, string> = {}): Promise<RunningServer> {
  if (EXTERNAL_BASE_URL) {
    await waitReady(EXTERNAL_BASE_URL);
    return externalServer(EXTERNAL_BASE_URL, testConfig(), log, overrides);
  }
  const config = testConfig(overrides);
  await ensureSchema(config);
  const server = await startServer(config, log);
  await waitReady(server.url);
  return server;
}

export async function waitReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const uniqueUser = (prefix = 'user') => `${prefix}-${randomUUID().slice(0, 12)}`;

/** POST /chat with a JSON body; the response is checked against the OpenAPI document (contract.ts). */
export async function postChat(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  await checkResponse('POST', `${url}/chat`, res.status, res.headers, text);
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
}

/** GET a JSON answer; the response is checked against the OpenAPI document (contract.ts). */
export async function getJson<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  await checkResponse('GET', url, res.status, res.headers, text);
  return { status: res.status, body: JSON.parse(text) as T, headers: res.headers };
}

/**
 * A POST through node:http (response checked against the OpenAPI document), so that exactly the given headers are sent (fetch adds a Content-Type to string
 * bodies; Python's requests, for one, sends none).
 */
export function postRaw(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>((resolve, reject) => {
    const sized = 'transfer-encoding' in headers ? headers : { 'content-length': String(Buffer.byteLength(body)), ...headers };
    const req = http.request(url, { method: 'POST', headers: sized }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const out = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out.set(k, v);
        const text = Buffer.concat(chunks).toString('utf8');
        checkResponse('POST', url, res.statusCode!, out, text).then(
          () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown>, headers: out }), reject);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
