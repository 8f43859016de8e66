import type { Db } from '../../src/storage/cassandra.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type ResultSet = Awaited<ReturnType<Db['execute']>>;

export interface FaultHooks {
  /** Runs before a statement (or batch) is sent: may delay it or throw instead of sending. */
  beforeSend?: (statement: string) => Promise<void> | void;
  /** Runs after Cassandra answered: may throw to lose the answer of a statement that was applied. */
  afterSend?: (statement: string) => Promise<void> | void;
  /** Statements sent twice, the caller seeing the second answer (what a driver retry to another host does). */
  twice?: (statement: string) => boolean;
}

export interface FaultyDb { db: Db; count(statement: string): number }

/**
 * The same Db with faults injected per statement name: the data-access layer and the rules above it run
 * unchanged, against the real Cassandra. Works for single statements and unlogged batches.
 */
export function faultyDb(db: Db, hooks: FaultHooks): FaultyDb {
  const counts = new Map<string, number>();
  const run = async (statement: string, send: () => Promise<ResultSet>): Promise<ResultSet> => {
    counts.set(statement, (counts.get(statement) ?? 0) + 1);
    await hooks.beforeSend?.(statement);
    let rs = await send();
    if (hooks.twice?.(statement)) rs = await send();
    await hooks.afterSend?.(statement);
    return rs;
  };
  const spy = Object.create(db) as Db;
  spy.execute = (...args: Parameters<Db['execute']>) => run(args[0], () => db.execute(...args));
  spy.batch = (...args: Parameters<Db['batch']>) => run(args[0], () => db.batch(...args));
  return { db: spy, count: (statement) => counts.get(statement) ?? 0 };
}
