import cassandra from 'cassandra-driver';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { unavailable } from '../errors.js';
import { dbDuration, dbErrors, dbInFlight, dbOpenConnections } from '../observability/metrics.js';

const { types, policies, auth } = cassandra;
export type Row = cassandra.types.Row;
export type Params = unknown[];

export interface ExecOptions {
  consistency?: number;
  fetchSize?: number;
  pageState?: string;
  traceQuery?: boolean;
  /**
   * false for conditional (IF ...) statements: the driver must never re-send a compare-and-set, since a retry
   * of an applied CAS answers "not applied" and hides that it was ours. Default true (plain writes are upserts).
   */
  idempotent?: boolean;
}

/** Errors that mean "storage is unavailable right now" rather than "this request is wrong". */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: number };
  if (e instanceof cassandra.errors.NoHostAvailableError) return true;
  if (e instanceof cassandra.errors.OperationTimedOutError) return true;
  if (e instanceof cassandra.errors.BusyConnectionError) return true;
  if (e instanceof cassandra.errors.ResponseError) {
    const c = types.responseErrorCodes;
    return [c.unavailableException, c.overloaded, c.isBootstrapping, c.writeTimeout, c.readTimeout,
      c.readFailure, c.writeFailure].includes(e.code ?? -1);
  }
  return e.message.includes('not connected') || e.message.includes('shutdown');
}

/**
 * One driver client per process: token-aware routing over DC-aware balancing, every statement prepared,
 * consistency from config, and per-statement latency/error metrics.
 */
export class Db {
  readonly client: cassandra.Client;
  readonly hot: string;
  readonly cold: string;
  readonly consistency: number;
  readonly serial: number;
  private readonly poolTimer: NodeJS.Timeout;

  constructor(readonly config: Config, private readonly log: Logger) {
    this.hot = config.CASSANDRA_HOT_KEYSPACE;
    this.cold = config.CASSANDRA_COLD_KEYSPACE;
    this.consistency = types.consistencies[camel(config.CASSANDRA_CONSISTENCY) as keyof typeof types.consistencies];
    this.serial = types.consistencies[camel(config.CASSANDRA_SERIAL_CONSISTENCY) as keyof typeof types.consistencies];
    this.client = new cassandra.Client({
      contactPoints: config.CASSANDRA_CONTACT_POINTS,
      localDataCenter: config.CASSANDRA_LOCAL_DC,
      authProvider: config.CASSANDRA_USERNAME
        ? new auth.PlainTextAuthProvider(config.CASSANDRA_USERNAME, config.CASSANDRA_PASSWORD ?? '')
        : undefined,
      policies: {
        loadBalancing: new policies.loadBalancing.TokenAwarePolicy(
          new policies.loadBalancing.DCAwareRoundRobinPolicy(config.CASSANDRA_LOCAL_DC)),
        // Fixed, short reconnection delay so the service heals quickly when Cassandra comes back.
        reconnection: new policies.reconnection.ConstantReconnectionPolicy(1000),
      },
      socketOptions: {
        connectTimeout: config.CASSANDRA_CONNECT_TIMEOUT_MS,
        readTimeout: config.CASSANDRA_REQUEST_TIMEOUT_MS,
      },
      queryOptions: {
        prepare: true,
        consistency: this.consistency,
        serialConsistency: this.serial,
      },
      pooling: { coreConnectionsPerHost: { [types.distance.local]: 2, [types.distance.remote]: 1 } },
    });
    this.poolTimer = setInterval(() => this.samplePool(), 5000).unref();
  }

  async connect(): Promise<void> {
    await this.client.connect();
    this.log.info({ hosts: this.client.hosts.length, dc: this.config.CASSANDRA_LOCAL_DC }, 'cassandra connected');
  }

  /** Runs a prepared statement; driver failures that mean "unavailable" become a 503 AppError. */
  execute(statement: string, cql: string, params: Params = [], opts: ExecOptions = {}) {
    return this.measured(statement, () => this.client.execute(cql, params, {
      prepare: true,
      consistency: opts.consistency ?? this.consistency,
      serialConsistency: this.serial,
      fetchSize: opts.fetchSize,
      pageState: opts.pageState,
      traceQuery: opts.traceQuery,
      isIdempotent: opts.idempotent ?? true,
    }));
  }

  /**
   * Several prepared statements in one unlogged batch: one request and one response instead of one per
   * statement. Not atomic across partitions; callers use it to save round trips, never for all-or-nothing.
   */
  batch(statement: string, queries: { query: string; params: Params }[]) {
    return this.measured(statement, () => this.client.batch(queries, {
      prepare: true, logged: false, consistency: this.consistency, serialConsistency: this.serial, isIdempotent: true,
    }));
  }

  private async measured(statement: string, run: () => Promise<cassandra.types.ResultSet>) {
    const end = dbDuration.startTimer({ statement });
    try {
      const result = await run();
      end();
      return result;
    } catch (err) {
      end();
      dbErrors.inc({ statement });
      if (isUnavailable(err)) {
        this.log.warn({ err: (err as Error).message, statement }, 'cassandra unavailable');
        throw unavailable();
      }
      throw err;
    }
  }

  /** DDL and one-off statements (migrations, tests): not on the request path, so a generous timeout. */
  async raw(cql: string, params: Params = [], consistency?: number) {
    return this.client.execute(cql, params, {
      prepare: params.length > 0, consistency: consistency ?? this.consistency, readTimeout: 60_000,
    });
  }

  samplePool(): void {
    let open = 0;
    let inFlight = 0;
    const state = this.client.getState();
    for (const host of state.getConnectedHosts()) {
      open += state.getOpenConnections(host);
      inFlight += state.getInFlightQueries(host);
    }
    dbOpenConnections.set(open);
    dbInFlight.set(inFlight);
  }

  async shutdown(): Promise<void> {
    clearInterval(this.poolTimer);
    await this.client.shutdown();
  }
}

function camel(level: string): string {
  return level.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A CQL bigint column as a JS number (every value this service stores is below 2^53). */
export const num = (v: unknown): number =>
  v === null || v === undefined ? 0 : typeof v === 'number' ? v : (v as cassandra.types.Long).toNumber();
