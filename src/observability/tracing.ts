import type { Logger } from '../logger.js';
import type { SdkOptions } from './otel-sdk.js';

export interface Tracing {
  /** True when an SDK is running in this process. */
  readonly enabled: boolean;
  /** How it was started: by the --import preload (everything instrumented) or late, by `serve` itself. */
  readonly startedBy: 'preload' | 'serve' | 'none';
  /** Flushes pending spans and stops the SDK. Idempotent. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { enabled: false, startedBy: 'none', shutdown: async () => {} };
const STATE = Symbol.for('ephemera.tracing');
type Global = typeof globalThis & { [STATE]?: Promise<Tracing> };

/**
 * Tracing is off unless the standard variables configure an exporter: an OTLP endpoint
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or an explicit OTEL_TRACES_EXPORTER
 * (otlp, console, zipkin). OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none always wins.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (exporters.includes('none')) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || exporters.length > 0;
}

/**
 * Starts the SDK once per process (later calls get the same handle). The SDK is loaded lazily, so a service
 * without tracing pays nothing for it. `spanProcessors` (tests) force it on regardless of the environment.
 */
export function bootTracing(opts: SdkOptions & { startedBy?: 'preload' | 'serve' } = {}): Promise<Tracing> {
  const g = globalThis as Global;
  g[STATE] ??= (async (): Promise<Tracing> => {
    if (!opts.spanProcessors && !tracingEnabled(opts.env)) return OFF;
    const { bootSdk } = await import('./otel-sdk.js');
    const sdk = await bootSdk(opts);
    let stopped: Promise<void> | null = null;
    return {
      enabled: true,
      startedBy: opts.startedBy ?? 'serve',
      shutdown: () => (stopped ??= sdk.shutdown()),
    };
  })();
  return g[STATE];
}

/** Used by `serve`: picks up the preload's SDK, or starts one now if the preload was not used. */
export async function startTracing(log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Tracing> {
  const tracing = await bootTracing({ env });
  if (!tracing.enabled) return tracing;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  // Started by serve itself, it still instruments koa, http and the driver because cli.ts imports the server
  // only after this call; the preload is the robust way (nothing can be imported too early).
  log.info({ endpoint, exporter: env.OTEL_TRACES_EXPORTER ?? 'otlp', startedBy: tracing.startedBy }, 'tracing on');
  return tracing;
}
