import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Db } from '../../src/storage/cassandra.js';
import { migrate } from '../../src/storage/migrator.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { EXTERNAL_BASE_URL, externalServer } from './external.js';

/** Response shapes of the contract. */
export type Listed = Array<{ id: number; text: string }>;
export type MessageView = { username: string; text: string; expiration_date: string };

/** Tests use their own keyspaces on the real local Cassandra, so they never touch `make run` data. */
export const TEST_ENV: Record<string, string> = {
  CASSANDRA_HOT_KEYSPACE: process.env.TEST_HOT_KEYSPACE ?? 'ephemera_test_hot',
  CASSANDRA_COLD_KEYSPACE: process.env.TEST_COLD_KEYSPACE ?? 'ephemera_test_cold',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
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
    const db = new Db(config, log);
    await db.connect();
    try { await migrate(db, log); } finally { await db.shutdown(); }
  })();
  return migrated;
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

export async function postChat(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as Record<string, unknown>, headers: res.headers };
}

export async function getJson<T = unknown>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() as T };
}
