import { pino, type Logger, type LoggerOptions } from 'pino';
import { trace } from '@opentelemetry/api';
import { prettyDestination } from './log-format.js';

export type { Logger };

/**
 * JSON lines on stdout; the active trace id is stamped on every line when tracing is on. `pretty` (the CLI sets
 * it when stdout is a terminal) prints the same entries as human-readable lines instead.
 */
export function createLogger(level: string, name = 'ephemera', opts: { pretty?: boolean } = {}): Logger {
  const options: LoggerOptions = {
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
  };
  return opts.pretty ? pino(options, prettyDestination(process.stdout)) : pino(options);
}
