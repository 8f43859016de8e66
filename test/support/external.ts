import type { Config } from '../../src/config.js';
import type { Logger } from '../../src/logger.js';
import { Db } from '../../src/storage/cassandra.js';
import type { RunningServer } from '../../src/server.js';
import { cassandraSettings } from '../../src/settings.js';

/**
 * TEST_BASE_URL: the API suites run against a service started elsewhere (make test-compose: the compose stack
 * in containers) instead of one started in-process. The suites still reach Cassandra directly for their
 * storage-level assertions, through the same config (CASSANDRA_CONTACT_POINTS, TEST_HOT/COLD_KEYSPACE must
 * name what that service uses).
 */
export const EXTERNAL_BASE_URL = process.env.TEST_BASE_URL?.replace(/\/+$/, '') || undefined;

export async function externalServer(url: string, config: Config, log: Logger, overrides: Record<string, string>): Promise<RunningServer> {
  // A setting the external service was started with too (the runner exports it: make test-pods gives the pods
  // the same ADMIN_TOKEN) is no conflict; any other is.
  const foreign = Object.entries(overrides).filter(([k, v]) => process.env[k] !== v).map(([k]) => k);
  if (foreign.length > 0) {
    throw new Error(`TEST_BASE_URL=${url}: this suite needs its own server settings (${foreign.join(', ')}), which an external service cannot take`);
  }
  const db = new Db(cassandraSettings(config), log);
  await db.connect();
  return {
    port: Number(new URL(url).port),
    url,
    db,
    config,
    get service(): never { throw new Error(`TEST_BASE_URL=${url}: no in-process MessageService`); },
    close: () => db.shutdown(),
  };
}
