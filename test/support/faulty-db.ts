import cassandra from 'cassandra-driver';
import { CasOutcomeUnknown, type Db } from '../../src/storage/cassandra.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type ResultSet = Awaited<ReturnType<Db['execute']>>;
type QueryOptions = cassandra.QueryOptions;

export interface FaultHooks {
  /** Runs before a statement (or batch) is sent: may delay it or throw instead of sending. */
  beforeSend?: (statement: string) => Promise<void> | void;
  /** Runs after Cassandra answered: may throw to lose the answer of a statement that was applied. */
  afterSend?: (statement: string) => Promise<void> | void;
  /** Statements sent twice, the caller seeing the second answer (what a driver retry to another host does). */
  twice?: (statement: string) => boolean;
  /**
   * Statements held back: the caller gets CasOutcomeUnknown at once, and the request reaches Cassandra only when
   * the test calls `releaseDeferred()` (a coordinator still working after its client timed out).
   */
  defer?: (statement: string) => boolean;
  /**
   * Below the Db, at the driver: the options the Db hands the driver for each statement (isIdempotent, ...).
   */
  onDriverCall?: (statement: string, options: QueryOptions) => void;
  /**
   * Below the Db: the request is built now (its write timestamp fixed, as the driver does when it encodes it) and
   * reaches Cassandra this many ms later, like a request held up on the wire.
   */
  wireDelayMs?: (statement: string) => number;
  /**
   * Below the Db: after Cassandra answered, the driver reports this error instead (e.g. the socket closed after
   * the request was written). The Db classifies it as it would the real one.
   */
  driverError?: (statement: string) => Error | undefined;
}

export interface FaultyDb { db: Db; count(statement: string): number; releaseDeferred(): Promise<void> }

/** What `lib/connection.js` of cassandra-driver 4.x rejects pending requests with when their socket closes. */
export function socketClosedError(requestNotWritten = false): Error {
  // The typings call DriverError abstract; the driver itself instantiates it (`new types.DriverError(...)`).
  const DriverError = cassandra.errors.DriverError as unknown as new (message: string) => Error;
  const err = new DriverError('Socket was closed') as Error & Record<string, unknown>;
  err.isSocketError = true;
  if (requestNotWritten) err.requestNotWritten = true;
  return err;
}

/**
 * The same Db with faults injected per statement name: the data-access layer and the rules above it run
 * unchanged, against the real Cassandra. Works for single statements and unlogged batches. The driver-level hooks
 * run inside the Db's own execute (its classification of driver errors included), on the real driver client.
 */
export function faultyDb(db: Db, hooks: FaultHooks): FaultyDb {
  const counts = new Map<string, number>();
  const deferred: (() => Promise<ResultSet>)[] = [];
  const run = async (statement: string, send: () => Promise<ResultSet>): Promise<ResultSet> => {
    counts.set(statement, (counts.get(statement) ?? 0) + 1);
    await hooks.beforeSend?.(statement);
    if (hooks.defer?.(statement)) {
      deferred.push(send);
      throw new CasOutcomeUnknown(statement);
    }
    let rs = await send();
    if (hooks.twice?.(statement)) rs = await send();
    await hooks.afterSend?.(statement);
    return rs;
  };
  // Statement names by CQL text (and batches by their query array), for the driver-level hooks.
  const names = new Map<string, string>();
  const batchNames = new WeakMap<object, string>();
  const real = db.client;
  const atDriver = async <T>(statement: string, options: QueryOptions, send: (o: QueryOptions) => Promise<T>) => {
    hooks.onDriverCall?.(statement, options);
    const delay = hooks.wireDelayMs?.(statement) ?? 0;
    let opts = options;
    if (delay > 0) {
      opts = { ...options, timestamp: cassandra.types.Long.fromNumber(Date.now() * 1000) };
      await sleep(delay);
    }
    const result = await send(opts);
    const err = hooks.driverError?.(statement);
    if (err) throw err;
    return result;
  };
  const client = new Proxy(real, {
    get(target, prop) {
      if (prop === 'execute') {
        return (cql: string, params: unknown[], options: QueryOptions) =>
          atDriver(names.get(cql) ?? '?', options, (o) => target.execute(cql, params, o));
      }
      if (prop === 'batch') {
        return (queries: { query: string; params: unknown[] }[], options: QueryOptions) =>
          atDriver(batchNames.get(queries) ?? '?', options, (o) => target.batch(queries, o));
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const spy = Object.create(db) as Db;
  Object.defineProperty(spy, 'client', { value: client });
  spy.execute = (...args: Parameters<Db['execute']>) => run(args[0], () => {
    names.set(args[1], args[0]);
    // On a plain Db this runs Db.execute over the wrapped client; on another wrapper, that wrapper's hooks too.
    return db.execute.apply(spy, args);
  });
  spy.batch = (...args: Parameters<Db['batch']>) => run(args[0], () => {
    batchNames.set(args[1], args[0]);
    return db.batch.apply(spy, args);
  });
  return {
    db: spy,
    count: (statement) => counts.get(statement) ?? 0,
    releaseDeferred: async () => { for (const send of deferred.splice(0)) await send(); },
  };
}
