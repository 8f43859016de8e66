import cassandra from 'cassandra-driver';
import type { Consistency, SerialConsistency } from '../config.js';

/** What the driver client needs of the configuration (the CASSANDRA_* variables; settings.ts maps them). */
export interface CassandraSettings {
  contactPoints: string[];
  localDc: string;
  /** PlainText authentication when set. */
  username: string | undefined;
  password: string | undefined;
  hotKeyspace: string;
  coldKeyspace: string;
  /** Keyspace replication (`{class, ...}`), applied by the migrator. */
  replication: Record<string, string | number>;
  consistency: Consistency;
  serialConsistency: SerialConsistency;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Read timeouts after which the driver closes a connection (CASSANDRA_DEFUNCT_READ_TIMEOUTS). */
  defunctReadTimeouts: number;
}
import type { Logger } from '../logger.js';
import { AppError, unavailable } from '../errors.js';
import { noteCoordinator } from './coordinators.js';
import { cutAtDeadline, storageTimeLeft, StorageDeadlinePassed } from './request-deadline.js';
import { dbDuration, dbErrors, dbInFlight, dbLwt, dbOpenConnections } from '../observability/metrics.js';
import { named, StatementBytes } from './statement-bytes.js';

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

/**
 * A conditional statement (lightweight transaction) whose outcome is unknown: the request timed out or the
 * connection broke after it was sent, so Paxos may or may not have applied it. Callers decide with one SERIAL
 * read (see `decideCas`); a driver retry would instead turn an applied write into "not applied".
 */
export class CasOutcomeUnknown extends AppError {
  constructor(readonly statement: string) {
    super(503, 'unavailable', 'storage did not answer in time, retry later', { 'retry-after': '1' });
  }
}

/** CQL with an IF clause is a lightweight transaction: never idempotent for the driver. */
const conditional = new Map<string, boolean>();
export function isConditional(cql: string): boolean {
  let c = conditional.get(cql);
  if (c === undefined) conditional.set(cql, c = /\bIF\b/i.test(cql));
  return c;
}

/**
 * The driver's `DriverError('Socket was closed')`: the connection broke while the request was pending
 * (`lib/connection.js` sets `isSocketError`; `lib/writers.js` adds `requestNotWritten` when it never left the
 * client). A killed coordinator produces the written kind, and the driver never re-sends a non-idempotent request.
 */
function socketClosed(err: unknown): 'unsent' | 'sent' | null {
  const e = err as { isSocketError?: unknown; requestNotWritten?: unknown } | null;
  if (typeof e !== 'object' || e === null || e.isSocketError !== true) return null;
  return e.requestNotWritten === true ? 'unsent' : 'sent';
}

/** Failures after which a conditional write certainly did not apply (refused before any Paxos round). */
function certainlyNotApplied(err: unknown): boolean {
  if (socketClosed(err) === 'unsent') return true;
  if (err instanceof cassandra.errors.NoHostAvailableError) return true;
  if (err instanceof cassandra.errors.BusyConnectionError) return true;
  if (err instanceof cassandra.errors.ResponseError) {
    const c = types.responseErrorCodes;
    return [c.unavailableException, c.overloaded, c.isBootstrapping, c.syntaxError, c.invalid, c.unprepared]
      .includes(err.code ?? -1);
  }
  return false;
}

/** Errors that mean "storage is unavailable right now" rather than "this request is wrong". */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: number };
  if (socketClosed(e) !== null) return true;
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
 * What a failed statement means for its caller: `outcome-unknown` when a conditional write may or may not have
 * applied (settled by a SERIAL read, `decideCas`), `unavailable` when storage is down or busy and nothing can
 * have applied that matters (a 503), `other` for a bug or a bad request (left to the central handler).
 */
export function classifyFailure(err: unknown, conditional: boolean): 'outcome-unknown' | 'unavailable' | 'other' {
  if (!isUnavailable(err)) return 'other';
  return conditional && !certainlyNotApplied(err) ? 'outcome-unknown' : 'unavailable';
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

  /** Keyspace replication (`{class, ...}`), applied by the migrator. */
  readonly replication: Record<string, string | number>;
  private readonly localDc: string;

  constructor(settings: CassandraSettings, private readonly log: Logger) {
    this.replication = settings.replication;
    this.localDc = settings.localDc;
    this.hot = settings.hotKeyspace;
    this.cold = settings.coldKeyspace;
    this.consistency = types.consistencies[camel(settings.consistency) as keyof typeof types.consistencies];
    this.serial = types.consistencies[camel(settings.serialConsistency) as keyof typeof types.consistencies];
    this.client = new cassandra.Client({
      contactPoints: settings.contactPoints,
      localDataCenter: settings.localDc,
      authProvider: settings.username
        ? new auth.PlainTextAuthProvider(settings.username, settings.password ?? '')
        : undefined,
      policies: {
        loadBalancing: new policies.loadBalancing.TokenAwarePolicy(
          new policies.loadBalancing.DCAwareRoundRobinPolicy(settings.localDc)),
        // Fixed, short reconnection delay so the service heals quickly when Cassandra comes back.
        reconnection: new policies.reconnection.ConstantReconnectionPolicy(1000),
      },
      socketOptions: {
        connectTimeout: settings.connectTimeoutMs,
        readTimeout: settings.requestTimeoutMs,
        // A node cut off without a reset (a partition: packets dropped) keeps its connections open, and the driver
        // routed a third of all statements into 2 s timeouts until 64 (its default) timed out per connection; lists
        // took up to 8.9 s (test/cluster/partition.test.ts). Three timeouts close the connection, the reconnect
        // fails, and the node leaves the query plans until it answers again. On a single overloaded node the same
        // rule would cut the only connection, so the threshold is configuration: 3 for clusters (the chart's value),
        // the driver's 64 by default.
        defunctReadTimeoutThreshold: settings.defunctReadTimeouts,
      },
      queryOptions: {
        prepare: true,
        consistency: this.consistency,
        serialConsistency: this.serial,
      },
      // Bytes per statement name (ephemera_cassandra_{request,response}_bytes_total).
      requestTracker: new StatementBytes(),
      pooling: { coreConnectionsPerHost: { [types.distance.local]: 2, [types.distance.remote]: 1 } },
    });
    this.poolTimer = setInterval(() => this.samplePool(), 5000).unref();
  }

  async connect(): Promise<void> {
    await this.client.connect();
    this.log.info({ hosts: this.client.hosts.length, dc: this.localDc }, 'cassandra connected');
  }

  /**
   * Runs a prepared statement; driver failures that mean "unavailable" become a 503 AppError. Conditional
   * statements are sent non-idempotent (the driver never re-sends them), and a failure that leaves their outcome
   * open becomes CasOutcomeUnknown.
   */
  execute(statement: string, cql: string, params: Params = [], opts: ExecOptions = {}) {
    const lwt = isConditional(cql);
    // A re-sent compare-and-set answers "not applied" to its own applied write (the lost messages of issue 22).
    if (lwt && opts.idempotent) {
      return Promise.reject(new Error(`${statement}: a conditional statement is never idempotent`));
    }
    if (lwt) dbLwt.inc({ statement });
    return this.measured(statement, lwt, () => this.client.execute(cql, params, named(statement, {
      prepare: true,
      consistency: opts.consistency ?? this.consistency,
      serialConsistency: this.serial,
      fetchSize: opts.fetchSize,
      pageState: opts.pageState,
      traceQuery: opts.traceQuery,
      isIdempotent: opts.idempotent ?? !lwt,
    })));
  }

  /**
   * Several prepared statements in one unlogged batch: one request and one response instead of one per
   * statement. Not atomic across partitions; callers use it to save round trips, never for all-or-nothing.
   */
  batch(statement: string, queries: { query: string; params: Params }[]) {
    // Batches are sent idempotent: only plain upserts may ride in one.
    if (queries.some((q) => isConditional(q.query))) {
      return Promise.reject(new Error(`${statement}: a batch holds only plain writes`));
    }
    return this.measured(statement, false, () => this.client.batch(queries, named(statement, {
      prepare: true, logged: false, consistency: this.consistency, serialConsistency: this.serial, isIdempotent: true,
    })));
  }

  private async measured(statement: string, lwt: boolean, run: () => Promise<cassandra.types.ResultSet>) {
    // Inside a request, nothing is sent past its storage deadline (request-deadline.ts), and a statement still
    // running at the deadline is given up there (the driver's own timeout ends it in the background).
    const left = storageTimeLeft();
    if (left <= 0) {
      dbErrors.inc({ statement });
      throw unavailable('the request ran out of time for storage, retry later');
    }
    const end = dbDuration.startTimer({ statement });
    try {
      const result = await cutAtDeadline(statement, run(), left);
      end();
      noteCoordinator(result.info?.queriedHost);
      return result;
    } catch (err) {
      end();
      // A server error names its coordinator; a client-side one (timeout, closed socket) does not.
      noteCoordinator((err as { coordinator?: string }).coordinator);
      dbErrors.inc({ statement });
      if (err instanceof StorageDeadlinePassed) {
        this.log.warn({ statement }, 'statement cut at the request deadline');
        if (lwt) throw new CasOutcomeUnknown(statement);
        throw unavailable();
      }
      const failure = classifyFailure(err, lwt);
      if (failure === 'outcome-unknown') {
        this.log.warn({ err: (err as Error).message, statement }, 'conditional write outcome unknown');
        throw new CasOutcomeUnknown(statement);
      }
      if (failure === 'unavailable') {
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
