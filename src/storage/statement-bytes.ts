import cassandra from 'cassandra-driver';
import { dbRequestBytes, dbResponseBytes } from '../observability/metrics.js';

/**
 * The key under which the executor names a statement in the driver's query options, so that the request tracker
 * (which sees only CQL text and options) can label bytes by the same statement name as the latency histogram.
 * The driver keeps the caller's options object as is (`ExecutionOptions.getRawQueryOptions()`).
 */
const STATEMENT_NAME = 'ephemeraStatement';

type Named = { [STATEMENT_NAME]?: string };

/** The driver's query options, carrying the statement's name for the tracker. */
export function named(statement: string, options: cassandra.QueryOptions): cassandra.QueryOptions {
  (options as Named)[STATEMENT_NAME] = statement;
  return options;
}

/**
 * The driver checks `instanceof tracker.RequestTracker` (a class in its JavaScript) while its typings declare an
 * interface: extend the runtime class, implement the declared interface.
 */
const TrackerBase = (cassandra.tracker as unknown as { RequestTracker: new () => object }).RequestTracker;

/**
 * Counts the bytes of every CQL request and response per statement name. The driver reports frame body lengths
 * (the 9-byte frame header excluded) for each send, so a retried or speculative send counts again, which is what
 * the network and Cassandra pay. PREPARE round trips are the driver's own and not reported (once per connection).
 */
export class StatementBytes extends TrackerBase implements cassandra.tracker.RequestTracker {
  onSuccess(_host: unknown, _query: unknown, _params: unknown, options: cassandra.ExecutionOptions,
    requestLength: number, responseLength: number): void {
    const statement = name(options);
    dbRequestBytes.inc({ statement }, requestLength);
    dbResponseBytes.inc({ statement }, responseLength);
  }

  onError(_host: unknown, _query: unknown, _params: unknown, options: cassandra.ExecutionOptions,
    requestLength: number): void {
    // A request that never left the client reports no length.
    if (requestLength > 0) dbRequestBytes.inc({ statement: name(options) }, requestLength);
  }

  shutdown(): void { /* nothing to release */ }
}

function name(options: cassandra.ExecutionOptions): string {
  return (options.getRawQueryOptions() as Named)[STATEMENT_NAME] ?? 'unnamed';
}
