import { pino, type Logger, type LoggerOptions } from 'pino';
import { trace } from '@opentelemetry/api';
import { prettyDestination } from './log-format.js';

export type { Logger };

/** How often a buffered destination is flushed even when its buffer is not full (quiet periods). */
const FLUSH_EVERY_MS = 250;

/**
 * JSON lines on stdout; the active trace id is stamped on every line when tracing is on. `pretty` (the CLI sets
 * it when stdout is a terminal) prints the same entries as human-readable lines instead.
 *
 * `bufferBytes` > 0 (LOG_BUFFER_BYTES): lines are collected and written asynchronously once that many bytes wait
 * or every 250 ms, instead of one synchronous write(2) per line. Measured (docs/performance.md, round 3): one
 * write per access line was ~0.05 ms of the ~1 ms of service CPU per request at 300 req/s. What it costs: lines
 * of the last ≤ 250 ms are lost if the process is SIGKILLed (an orderly exit, even on an uncaught error, flushes).
 */
export function createLogger(level: string, name = 'ephemera', opts: { pretty?: boolean; bufferBytes?: number } = {}): Logger {
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
  if (opts.pretty) return pino(options, prettyDestination(process.stdout));
  if (!opts.bufferBytes) return pino(options);
  const dest = pino.destination({ dest: 1, sync: false, minLength: opts.bufferBytes });
  const timer = setInterval(() => dest.flush(), FLUSH_EVERY_MS).unref();
  dest.once('close', () => clearInterval(timer));
  return pino(options, dest);
}
