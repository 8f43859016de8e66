import { after, before } from 'node:test';
import { log, testConfig } from '../support/harness.js';
import { Db } from '../../src/storage/cassandra.js';
import { migrate } from '../../src/storage/migrator.js';
import { inboxStores } from '../../src/inbox/stores.js';
import { MessageService } from '../../src/inbox/message-service.js';
import type { Clock } from '../../src/clock.js';
import { WriterLease } from '../../src/ids/writer-lease.js';
import type { Config } from '../../src/config.js';
import { processIdentity } from '../../src/process-identity.js';
import { cassandraSettings, inboxSettings } from '../../src/settings.js';

/**
 * What the inbox fault suites (cursor-faults, keyed-create-faults) share: the review's defects
 * (../shared/reviews/inbox-correctness.md), each reproduced on the single node by injecting the fault through a
 * wrapper around the data-access client: a statement sent twice, delayed, failed once, or a process whose clock
 * runs ahead. Settle window 4 s, skew budget 1 s: acknowledgement deadline 2.5 s. The suite state is exported as
 * live bindings, set by the hooks faultSuite() registers in the calling describe.
 */
export const SETTINGS = {
  DELIVERY_SETTLE_MS: '4000', MAX_CLOCK_SKEW_MS: '1000', CASSANDRA_REQUEST_TIMEOUT_MS: '1000',
};

export let config: Config;
export let db: Db;
export let lease: WriterLease;

/** Registers the suite's hooks; `env` overrides the test configuration (the fault suites' SETTINGS by default). */
export function faultSuite(env: Record<string, string> = SETTINGS): void {
  before(async () => {
    config = testConfig(env);
    db = new Db(cassandraSettings(config), log);
    await db.connect();
    await migrate(db, log, processIdentity(config.POD_NAME, 'migrator'));
    lease = new WriterLease(db, log, config.WRITER_LEASE_TTL_MS, config.POD_NAME);
    await lease.start();
  });
  after(async () => {
    await lease?.stop();
    await db?.shutdown();
  });
}

export const service = (client: Db = db, now: Clock = Date.now) =>
  new MessageService(inboxStores(client), lease, inboxSettings(config), log, now);

export async function drain(s: MessageService, user: string): Promise<number[]> {
  const out: number[] = [];
  for await (const batch of s.consume(user)) out.push(...batch.map((m) => m.id));
  return out;
}
