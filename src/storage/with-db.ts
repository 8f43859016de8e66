import type { Logger } from '../logger.js';
import { Db, type CassandraSettings } from './cassandra.js';

/**
 * The Db lifecycle of a command or a worker process: a client, connected, handed to `fn`, and shut down however
 * `fn` ended (a failed connect included: the driver may hold sockets and timers even then). The API server's Db is
 * the one that lives differently: it starts before Cassandra answers and closes with the server (server.ts).
 */
export async function withDb<T>(settings: CassandraSettings, log: Logger, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = new Db(settings, log);
  try {
    await db.connect();
    return await fn(db);
  } finally {
    await db.shutdown();
  }
}
